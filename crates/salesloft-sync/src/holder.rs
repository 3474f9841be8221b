//! Who holds a lock or lease, written so that a rerun can tell a dead holder from a live one.
//!
//! A holder name is `<actor>@<host>:<pid>:<random>`, where `<host>` is the host name plus, on Linux, the PID
//! namespace (`name~4026531836`): two containers that share a host name but not a PID namespace cannot see
//! each other's processes, so neither may judge the other dead. A rerun that finds a row's lease held by a process on the
//! same host that no longer exists (after `kill -9`, a crash, an OOM kill) takes it over at once instead of
//! waiting out the lease ([`is_provably_dead`]). Anything it cannot prove — another host, a live or unknown
//! process, a name in another format — counts as alive, and the lease is waited out.

/// The holder name of a journal in this process: `<actor>@<host>:<pid>:<random>`.
pub fn this_process(actor: &str) -> String {
    format!(
        "{actor}@{}:{}:{}",
        local_host().unwrap_or_else(|| "unknown-host".to_string()),
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The host and process id a holder name carries, if it is in [`this_process`]'s format.
pub fn parse(holder: &str) -> Option<(&str, u32)> {
    let (rest, _random) = holder.rsplit_once(':')?;
    let (rest, pid) = rest.rsplit_once(':')?;
    let (_actor, host) = rest.rsplit_once('@')?;
    let pid: u32 = pid.parse().ok()?;
    (!host.is_empty() && pid > 0).then_some((host, pid))
}

/// True only when `holder` names a process on this host that no longer runs (or is a zombie). Another host,
/// this very process, a process that exists, or a name that cannot be read: false.
pub fn is_provably_dead(holder: &str) -> bool {
    let Some((host, pid)) = parse(holder) else { return false };
    let Some(local) = local_host() else { return false };
    host == local && pid != std::process::id() && !process_alive(pid)
}

/// This host's identity for holder names: its name (`/proc/sys/kernel/hostname`, then `gethostname`) and, where
/// Linux exposes it, the PID namespace this process sees pids in.
fn local_host() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(gethostname)?;
    // `pid:[4026531836]` → `4026531836`.
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok().and_then(|link| {
        let link = link.to_string_lossy().into_owned();
        let inode: String = link.chars().filter(char::is_ascii_digit).collect();
        (!inode.is_empty()).then_some(inode)
    });
    Some(match namespace {
        Some(inode) => format!("{}~{inode}", name.replace([':', '@'], "_")),
        None => name.replace([':', '@'], "_"),
    })
}

#[cfg(unix)]
fn gethostname() -> Option<String> {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if rc != 0 {
        return None;
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    let name = String::from_utf8_lossy(&buffer[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(not(unix))]
fn gethostname() -> Option<String> {
    None
}

/// Whether process `pid` exists and is not a zombie. In doubt (no permission to ask): alive.
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid_t) = libc::pid_t::try_from(pid) else { return true };
    // SAFETY: signal 0 performs only the existence and permission check; nothing is sent.
    let rc = unsafe { libc::kill(pid_t, 0) };
    if rc != 0 {
        // ESRCH: no such process. EPERM: it exists but belongs to someone else.
        return std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    }
    // A killed child its parent has not reaped yet still answers kill(0); /proc says it is a zombie.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => true,
    }
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_odd_names_are_never_dead() {
        let me = this_process("slprod push");
        let (host, pid) = parse(&me).expect("our own format parses");
        assert_eq!(pid, std::process::id());
        assert!(!host.is_empty());
        assert!(!is_provably_dead(&me), "this process is alive");
        for odd in ["", "worker-a", "a@b:c:d", "a@:1:x", "x@host:0:y", "slprod:123:abc"] {
            assert!(!is_provably_dead(odd), "{odd:?} cannot be proven dead");
        }
        let elsewhere = format!("slprod@not-{host}:{}:x", u32::MAX - 1);
        assert!(!is_provably_dead(&elsewhere), "a process on another host is never proven dead");
    }

    #[test]
    fn an_exited_process_on_this_host_is_dead() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        let (host, _) = parse(&this_process("t")).map(|(h, p)| (h.to_string(), p)).expect("parse");
        assert!(is_provably_dead(&format!("slprod push@{host}:{pid}:abc")), "pid {pid} has exited");
    }
}
