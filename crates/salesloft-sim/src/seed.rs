//! Deterministic seed data: one team, its users (the first is the `/v2/me` user), accounts, cadences with
//! their steps, a few cadence memberships, notes, tasks, actions, emails and calls, and people generated on
//! demand from `(seed, id)`.
//!
//! Timestamps start at 2024-01-01T00:00:00Z and grow with the id; every 50th person shares its `updated_at`
//! with the previous one, so keyset pollers meet the tie FACTS.md §4.5 warns about.

use std::borrow::Cow;

use crate::clock::Micros;
use crate::records::accounts::Account;
use crate::records::actions::Action;
use crate::records::cadence_memberships::Membership;
use crate::records::cadences::Cadence;
use crate::records::calls::Call;
use crate::records::emails::{Counts, Email};
use crate::records::notes::{Associated, Note};
use crate::records::people::Person;
use crate::records::steps::Step;
use crate::records::tasks::{TASK_TYPES, Task};
use crate::records::users::User;

/// How many of the first people get a seeded note, task, email and call (and, when there are cadences, an
/// action).
pub const SMALL_SEED: u64 = 5;

/// Steps of every seeded cadence: `(day, step_number, type, name)`. Cadence `c` has step ids
/// `3c-2, 3c-1, 3c`; the third step is an `integration` step on odd cadences and `other` on even ones.
pub const STEPS: &[(i64, i64, &str, &str)] =
    &[(1, 1, "email", "Intro email"), (1, 2, "phone", "Intro call"), (3, 1, "integration", "LinkedIn connect")];

/// 2024-01-01T00:00:00Z.
pub const BASE_TIME: Micros = 1_704_067_200_000_000;
const MINUTE: Micros = 60_000_000;
const DAY: Micros = 86_400_000_000;

const FIRST_NAMES: &[&str] = &[
    "ada",
    "alan",
    "barbara",
    "claude",
    "donald",
    "edsger",
    "frances",
    "grace",
    "hedy",
    "ivan",
    "john",
    "katherine",
    "leslie",
    "margaret",
    "niklaus",
    "ole",
    "peter",
    "radia",
    "shafi",
    "tim",
    "ursula",
    "vint",
    "whitfield",
    "yukihiro",
];
const LAST_NAMES: &[&str] = &[
    "lovelace",
    "turing",
    "liskov",
    "shannon",
    "knuth",
    "dijkstra",
    "allen",
    "hopper",
    "lamarr",
    "sutherland",
    "backus",
    "johnson",
    "lamport",
    "hamilton",
    "wirth",
    "dahl",
    "naur",
    "perlman",
    "goldwasser",
    "berners",
    "franklin",
    "cerf",
    "diffie",
    "matsumoto",
];
const TITLES: &[&str] = &[
    "Software Engineer",
    "VP of Sales",
    "Account Executive",
    "Head of Marketing",
    "CTO",
    "Sales Development Rep",
    "Director of Operations",
    "Product Manager",
];
const SENIORITIES: &[&str] = &["individual_contributor", "manager", "director", "vice_president", "executive"];
const CITIES: &[(&str, &str, &str)] = &[
    ("Atlanta", "GA", "US"),
    ("Austin", "TX", "US"),
    ("Boston", "MA", "US"),
    ("London", "England", "GB"),
    ("Berlin", "Berlin", "DE"),
    ("Toronto", "ON", "CA"),
];
const DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];
const COMPANY_WORDS: &[&str] =
    &["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Stark", "Wayne", "Wonka", "Tyrell"];

fn rng_for(seed: u64, kind: u64, id: i64) -> fastrand::Rng {
    let mixed = seed ^ kind.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (id as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    fastrand::Rng::with_seed(mixed)
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

/// The team's API key: `ak` + 64 hex characters derived from the seed (FACTS.md §1.2).
pub fn api_key(seed: u64) -> String {
    let mut rng = rng_for(seed, 1, 0);
    let mut key = String::with_capacity(66);
    key.push_str("ak");
    for _ in 0..4 {
        key.push_str(&format!("{:016x}", rng.u64(..)));
    }
    key
}

/// A UUID-shaped guid for a user.
fn guid(rng: &mut fastrand::Rng) -> String {
    let hex = format!("{:016x}{:016x}", rng.u64(..), rng.u64(..));
    format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// `(created_at, updated_at)` of seeded person `id`.
pub fn person_times(seed: u64, id: i64) -> (Micros, Micros) {
    let mut rng = rng_for(seed, 2, id);
    let created = BASE_TIME + id.saturating_mul(MINUTE) + rng.i64(0..MINUTE);
    let updated = created + rng.i64(0..90 * DAY);
    if id % 50 == 0 && id > 1 {
        // A deliberate `updated_at` tie with the previous person (FACTS.md §4.5 caveat).
        let (_, previous) = person_times(seed, id - 1);
        return (created, previous.max(created));
    }
    (created, updated)
}

/// What generated people refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeopleSeed {
    /// The seed.
    pub seed: u64,
    /// Seeded accounts (people link to `1..=accounts`).
    pub accounts: u64,
    /// Seeded users (people are owned by `1..=users`).
    pub users: u64,
}

/// Seeded person `id`.
pub fn person(seeds: PeopleSeed, id: i64) -> Person {
    let mut rng = rng_for(seeds.seed, 3, id);
    let first = pick(&mut rng, FIRST_NAMES);
    let last = pick(&mut rng, LAST_NAMES);
    let domain = pick(&mut rng, DOMAINS);
    let (city, state, country) = CITIES[rng.usize(..CITIES.len())];
    let company = pick(&mut rng, COMPANY_WORDS);
    Person {
        first_name: Some(capitalise(first).into_owned()),
        last_name: Some(capitalise(last).into_owned()),
        email_address: Some(seeded_email(first, last, id, domain)),
        phone: rng.bool().then(|| format!("+1555{:07}", rng.u32(..10_000_000))),
        title: Some(pick(&mut rng, TITLES).to_owned()),
        city: Some(city.to_owned()),
        state: Some(state.to_owned()),
        country: Some(country.to_owned()),
        work_city: Some(city.to_owned()),
        work_state: Some(state.to_owned()),
        work_country: Some(country.to_owned()),
        person_company_name: Some(format!("{company} Inc")),
        person_company_website: Some(format!("https://{}.example.com", company.to_lowercase())),
        job_seniority: Some(pick(&mut rng, SENIORITIES).to_owned()),
        account_id: (seeds.accounts > 0).then(|| (id - 1).rem_euclid(seeds.accounts as i64) + 1),
        owner_id: Some((id - 1).rem_euclid(seeds.users.max(1) as i64) + 1),
        ..Person::default()
    }
}

fn seeded_email(first: &str, last: &str, id: i64, domain: &str) -> String {
    format!("{first}.{last}.{id}@{domain}")
}

/// The id a seeded email address encodes (`first.last.<id>@domain`), if it has that shape. The caller checks
/// the person still has its seeded data.
pub fn person_id_in_email(email: &str) -> Option<i64> {
    let (local, _) = email.split_once('@')?;
    let (_, digits) = local.rsplit_once('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn capitalise(word: &str) -> Cow<'_, str> {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => Cow::Owned(first.to_uppercase().chain(chars).collect()),
        None => Cow::Borrowed(word),
    }
}

/// Seeded user `id` (1 is the `/v2/me` user, an admin).
pub fn user(seed: u64, id: i64) -> User {
    let mut rng = rng_for(seed, 4, id);
    let first = capitalise(pick(&mut rng, FIRST_NAMES)).into_owned();
    let last = capitalise(pick(&mut rng, LAST_NAMES)).into_owned();
    let email = format!("{}.{}.user{id}@sim.example.com", first.to_lowercase(), last.to_lowercase());
    let created_at = BASE_TIME - 30 * DAY + id * MINUTE;
    User {
        guid: guid(&mut rng),
        first_name: first,
        last_name: last,
        email,
        active: true,
        role: if id == 1 { "Admin".to_owned() } else { "User".to_owned() },
        group_id: Some(1),
        time_zone: "US/Eastern".to_owned(),
        work_country: Some("US".to_owned()),
        created_at,
        updated_at: created_at,
    }
}

/// Seeded account `id` (domains are unique: they carry the id).
pub fn account(seed: u64, id: i64, users: u64) -> Account {
    let mut rng = rng_for(seed, 5, id);
    let word = pick(&mut rng, COMPANY_WORDS);
    let (city, state, country) = CITIES[rng.usize(..CITIES.len())];
    let created_at = BASE_TIME - 20 * DAY + id * MINUTE + rng.i64(0..MINUTE);
    Account {
        name: Some(format!("{word} {id}")),
        domain: Some(format!("{}{id}.example.com", word.to_lowercase())),
        website: Some(format!("https://{}{id}.example.com", word.to_lowercase())),
        city: Some(city.to_owned()),
        state: Some(state.to_owned()),
        country: Some(country.to_owned()),
        industry: Some("Software".to_owned()),
        owner_id: Some((id - 1).rem_euclid(users.max(1) as i64) + 1),
        creator_id: Some(1),
        created_at,
        updated_at: created_at + rng.i64(0..10 * DAY),
        ..Account::default()
    }
}

/// Seeded cadence `id` (odd ids are team cadences).
pub fn cadence(seed: u64, id: i64, users: u64) -> Cadence {
    let mut rng = rng_for(seed, 6, id);
    let created_at = BASE_TIME - 10 * DAY + id * MINUTE;
    Cadence {
        name: format!("{} Outreach {id}", pick(&mut rng, COMPANY_WORDS)),
        team_cadence: id % 2 == 1,
        shared: true,
        draft: false,
        archived_at: None,
        owner_id: (id - 1).rem_euclid(users.max(1) as i64) + 1,
        cadence_function: "outbound".to_owned(),
        tags: Vec::new(),
        created_at,
        updated_at: created_at + rng.i64(0..DAY),
    }
}

/// Seeded membership of person `person_id` on cadence 1.
pub fn membership(seed: u64, person_id: i64) -> Membership {
    let (person_created, _) = person_times(seed, person_id);
    Membership {
        person_id,
        cadence_id: 1,
        user_id: 1,
        added_at: person_created + MINUTE,
        currently_on_cadence: true,
        current_state: "active",
        person_deleted: false,
        created_at: person_created + MINUTE,
        updated_at: person_created + MINUTE,
    }
}

/// Seeded note on person `person_id` (by user 1, an hour after the person was created).
pub fn note(seed: u64, person_id: i64) -> Note {
    let (person_created, _) = person_times(seed, person_id);
    let at = person_created + 60 * MINUTE;
    Note {
        content: format!("Seeded note {person_id}: asked for a follow-up call."),
        associated_type: Associated::Person,
        associated_with_id: person_id,
        call_id: None,
        user_id: 1,
        subject: None,
        skip_crm_sync: false,
        created_at: at,
        updated_at: at,
    }
}

/// Seeded task about person `person_id`, scheduled for the owner of the person, due `person_id` days after
/// 2024-01-01.
pub fn task(seed: u64, person_id: i64, users: u64) -> Task {
    let (person_created, _) = person_times(seed, person_id);
    let at = person_created + 2 * 60 * MINUTE;
    let due_date = time::Date::from_calendar_date(2024, time::Month::January, 1)
        .map(|first| first + time::Duration::days(person_id))
        .unwrap_or(time::Date::MIN);
    Task {
        subject: format!("Follow up with person {person_id}"),
        person_id,
        user_id: (person_id - 1).rem_euclid(users.max(1) as i64) + 1,
        task_type: TASK_TYPES[(person_id as usize) % TASK_TYPES.len()],
        current_state: "scheduled",
        due_date,
        remind_at: None,
        description: None,
        idempotency_key: None,
        created_by_user_id: 1,
        completed_at: None,
        completed_by_id: None,
        created_at: at,
        updated_at: at,
    }
}

/// Seeded step `index` (0-based, into [`STEPS`]) of a cadence, created a second apart after the cadence (so
/// ids grow with `created_at`, as `sort_by=created_at` assumes).
pub fn step(cadence_id: i64, cadence: &Cadence, index: usize) -> Step {
    let (day, step_number, mut step_type, name) = STEPS[index % STEPS.len()];
    if step_type == "integration" && cadence_id % 2 == 0 {
        step_type = "other";
    }
    let created_at = cadence.created_at + (index as i64 + 1) * 1_000_000;
    Step {
        cadence_id,
        day,
        step_number,
        name: name.to_owned(),
        step_type,
        disabled: false,
        multitouch_enabled: false,
        created_at,
        updated_at: created_at + (index as i64 + 1) * DAY,
    }
}

/// Seeded open action of person `person_id` (on cadence 1, whose steps are `1..=3`): on step
/// `(person_id - 1) % 3 + 1`, of that step's type, for user 1, due for odd ids.
pub fn action(seed: u64, person_id: i64, step_id: i64, step_type: &'static str) -> Action {
    let (person_created, _) = person_times(seed, person_id);
    let at = person_created + 2 * MINUTE;
    Action {
        person_id,
        user_id: 1,
        cadence_id: Some(1),
        step_id: Some(step_id),
        action_type: step_type,
        status: "in_progress",
        due: person_id % 2 == 1,
        due_on: at + person_id * DAY,
        multitouch_group_id: None,
        completed_at: None,
        created_at: at,
        updated_at: at,
    }
}

/// Seeded email to person `person_id` from user 1: a cadence email (cadence 1, step 1) for odd ids when
/// `on_cadence`, else a one-off; person 3's bounced, person 5's is still scheduled.
pub fn email(seeds: PeopleSeed, person_id: i64, on_cadence: bool) -> Email {
    let (person_created, _) = person_times(seeds.seed, person_id);
    let person = person(seeds, person_id);
    let first = person.first_name.unwrap_or_default();
    let created_at = person_created + 3 * 60 * MINUTE;
    let scheduled = person_id == 5;
    let cadence = on_cadence && person_id % 2 == 1;
    Email {
        user_id: 1,
        person_id: Some(person_id),
        recipient_email_address: person.email_address.unwrap_or_default(),
        action_id: None,
        cadence_id: cadence.then_some(1),
        step_id: cadence.then_some(1),
        task_id: None,
        crm_activity_id: None,
        status: if scheduled { "scheduled" } else { "sent" },
        bounced: person_id == 3,
        subject: format!("Quick question, {first}"),
        body: format!("<p>Hi {first},</p><p>Do you have ten minutes this week?</p>"),
        personalization: format!("{}.0", person_id * 10),
        sent_at: (!scheduled).then_some(created_at + MINUTE),
        send_after: scheduled.then_some(created_at + DAY),
        click_tracking: true,
        view_tracking: true,
        counts: Counts {
            views: if scheduled { 0 } else { person_id },
            clicks: i64::from(!scheduled && person_id % 2 == 1),
            replies: i64::from(person_id == 1),
            unique_devices: i64::from(!scheduled),
            unique_locations: i64::from(!scheduled),
            attachments: 0,
        },
        created_at,
        updated_at: created_at + person_id * MINUTE + MINUTE,
    }
}

/// Seeded call of user 1 to person `person_id`: odd ids connected (with a sentiment and a duration), even
/// ids not answered.
pub fn call(seed: u64, person_id: i64) -> Call {
    let (person_created, _) = person_times(seed, person_id);
    let at = person_created + 4 * 60 * MINUTE;
    let connected = person_id % 2 == 1;
    Call {
        user_id: 1,
        person_id,
        action_id: None,
        cadence_id: None,
        step_id: None,
        note_id: None,
        disposition: Some(if connected { "Connected" } else { "No Answer" }.to_owned()),
        sentiment: connected.then(|| "Interested".to_owned()),
        duration: Some(if connected { 60 * person_id } else { 0 }),
        to: Some(format!("+1555010{person_id:04}")),
        call_data_record_ids: Vec::new(),
        crm_params: Vec::new(),
        created_at: at,
        updated_at: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic_and_emails_encode_ids() {
        let seeds = PeopleSeed { seed: 42, accounts: 3, users: 2 };
        assert_eq!(person(seeds, 7), person(seeds, 7));
        let email = person(seeds, 123_456).email_address.expect("seeded email");
        assert_eq!(person_id_in_email(&email), Some(123_456));
        assert_eq!(person_id_in_email("someone@example.com"), None);
        assert_eq!(person_times(42, 50).1, person_times(42, 49).1.max(person_times(42, 50).0));
        let key = api_key(42);
        assert_eq!(key.len(), 66);
        assert!(key.starts_with("ak") && key[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(key, api_key(42));
        assert_ne!(key, api_key(43));
    }
}
