//! `slprod rollback` end to end: the exit codes operators script on (0 paused and healthy, 1 not healthy, 2
//! not paused), the switch left on in the store, and the step left to the operator.

mod support;

use salesloft_testkit::webhooks::WebhookReceiver;
use support::{run, slprod, sqlite_url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn health(status: u16) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{address}/health")
}

#[tokio::test]
async fn paused_and_healthy_is_exit_0_and_the_switch_stays_on() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite_url(dir.path());
    let mut slack = WebhookReceiver::start().await;
    let mut command = slprod();
    command.args(["rollback", "--store", &store, "--reason", "bad deploy", "--health-url", &health(200).await]);
    command.env("SLPROD_ROLLBACK_NOTIFY_URL", slack.url());
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1. paused in the store"), "{stdout}");
    assert!(stdout.contains("healthy") && stdout.contains("3. notified"), "{stdout}");
    assert!(stdout.contains("kubectl rollout undo deployment/slprod"), "{stdout}");
    assert!(!stdout.contains(slack.url()), "the notify URL is a secret: {stdout}");
    let _ = slack.next().await;

    let mut paused = slprod();
    paused.args(["paused", "--store", &store]);
    let (code, stdout, _) = run(paused).await;
    assert_eq!(code, 1, "the switch is on: {stdout}");
    assert!(stdout.contains("bad deploy"), "{stdout}");
}

#[tokio::test]
async fn health_that_does_not_recover_is_exit_1() {
    let dir = tempfile::tempdir().expect("dir");
    let mut command = slprod();
    command.args(["rollback", "--store", &sqlite_url(dir.path()), "--health-timeout", "0s"]);
    command.args(["--health-url", &health(503).await]);
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("did NOT recover"), "{stdout}");
}

#[tokio::test]
async fn a_gateway_that_cannot_be_reached_is_exit_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut command = slprod();
    command.args(["rollback", "--gateway", &format!("http://127.0.0.1:{port}")]);
    command.env("SLPROD_ADMIN_TOKEN", "admin-token-for-the-test");
    let (code, stdout, stderr) = run(command).await;
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("could not pause"), "{stderr}");
    assert!(!stderr.contains("admin-token-for-the-test"), "{stderr}");
}
