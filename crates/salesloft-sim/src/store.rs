//! [`TeamData`]: the in-memory records of one team, with the indexes writes keep up to date (unique email
//! and domain, people by CRM id, memberships by person and by (person, cadence), tasks by idempotency key),
//! plus the activity records: steps, actions, emails and calls.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::clock::Micros;
use crate::config::SimConfig;
use crate::records::accounts::Account;
use crate::records::actions::Action;
use crate::records::bulk_jobs::{BulkJob, JobRecord};
use crate::records::cadence_memberships::Membership;
use crate::records::cadences::Cadence;
use crate::records::calls::Call;
use crate::records::emails::Email;
use crate::records::notes::Note;
use crate::records::people::{Person, PersonRow};
use crate::records::steps::Step;
use crate::records::tasks::Task;
use crate::records::team::Team;
use crate::records::users::User;
use crate::records::webhook_subscriptions::Subscription;
use crate::seed::{self, PeopleSeed};
use crate::table::Table;

/// Everything one team owns.
#[derive(Debug, Clone)]
pub struct TeamData {
    /// The team.
    pub team: Team,
    /// Users; id 1 is the user API keys and OAuth grants act as.
    pub users: Table<User>,
    /// People rows (seeded data generated on demand).
    pub people: Table<PersonRow>,
    /// Lower-cased email → person id, for people whose data is stored (seeded emails are decoded instead).
    person_emails: HashMap<String, i64>,
    /// CRM id → ids of stored people with it (seeded people have none; CRM ids need not be unique).
    person_crm_ids: HashMap<String, Vec<i64>>,
    /// Accounts.
    pub accounts: Table<Account>,
    /// Lower-cased domain → account id.
    account_domains: HashMap<String, i64>,
    /// Cadences.
    pub cadences: Table<Cadence>,
    /// Cadence memberships.
    pub memberships: Table<Membership>,
    /// (person, cadence) → membership id: one record per pair (FACTS.md §5.4).
    membership_by_pair: HashMap<(i64, i64), i64>,
    /// person → membership ids.
    memberships_by_person: HashMap<i64, Vec<i64>>,
    /// Webhook subscriptions.
    pub subscriptions: Table<Subscription>,
    /// Notes.
    pub notes: Table<Note>,
    /// Tasks.
    pub tasks: Table<Task>,
    /// `idempotency_key` → task id (FACTS.md §5.2: the key prevents duplicate tasks).
    task_keys: HashMap<String, i64>,
    /// Cadence steps.
    pub steps: Table<Step>,
    /// Actions (completed ones stay, hidden).
    pub actions: Table<Action>,
    /// Emails.
    pub emails: Table<Email>,
    /// Calls.
    pub calls: Table<Call>,
    /// Bulk jobs (FACTS.md §12).
    pub bulk_jobs: Table<BulkJob>,
    /// Each bulk job's uploaded records, in upload order (ids ascending).
    pub bulk_records: HashMap<i64, Vec<JobRecord>>,
    /// Next id of an uploaded bulk record (one sequence for the team, so ids grow with upload order).
    next_bulk_record_id: i64,
    /// What seeded people are generated from.
    pub people_seed: PeopleSeed,
}

impl TeamData {
    /// The seeded state of the team.
    pub fn seeded(config: &SimConfig) -> Self {
        let seed = config.seed;
        let people_seed = PeopleSeed { seed, accounts: config.seed_accounts, users: config.seed_users };
        let mut data = Self {
            team: Team {
                id: 1,
                name: "Simulated Team".to_owned(),
                plan: "enterprise".to_owned(),
                created_at: seed::BASE_TIME - 60 * 86_400_000_000,
                updated_at: seed::BASE_TIME - 60 * 86_400_000_000,
            },
            users: Table::default(),
            people: Table::default(),
            person_emails: HashMap::new(),
            person_crm_ids: HashMap::new(),
            accounts: Table::default(),
            account_domains: HashMap::new(),
            cadences: Table::default(),
            memberships: Table::default(),
            membership_by_pair: HashMap::new(),
            memberships_by_person: HashMap::new(),
            subscriptions: Table::default(),
            notes: Table::default(),
            tasks: Table::default(),
            task_keys: HashMap::new(),
            steps: Table::default(),
            actions: Table::default(),
            emails: Table::default(),
            calls: Table::default(),
            bulk_jobs: Table::default(),
            bulk_records: HashMap::new(),
            next_bulk_record_id: 1,
            people_seed,
        };
        for id in 1..=config.seed_users as i64 {
            data.users.put(id, seed::user(seed, id));
        }
        for id in 1..=config.seed_accounts as i64 {
            data.put_account(id, seed::account(seed, id, config.seed_users));
        }
        for id in 1..=config.seed_cadences as i64 {
            let cadence = seed::cadence(seed, id, config.seed_users);
            for index in 0..seed::STEPS.len() {
                let step_id = data.steps.allocate_id();
                data.steps.put(step_id, seed::step(id, &cadence, index));
            }
            data.cadences.put(id, cadence);
        }
        let tie_group = i64::try_from(config.seed_people_tie_group).unwrap_or(i64::MAX).max(1);
        let seeded = i64::try_from(config.seed_people).unwrap_or(i64::MAX);
        for id in 1..=seeded {
            let (created_at, mut updated_at) = seed::person_times(seed, id);
            if tie_group > 1 {
                // The block's last person was created last, so its `updated_at` is after every
                // `created_at` of the block.
                let last = ((id - 1) / tie_group).saturating_add(1).saturating_mul(tie_group).min(seeded);
                updated_at = seed::person_times(seed, last).1;
            }
            data.people.put(id, PersonRow { created_at, updated_at, data: None });
        }
        if config.seed_cadences > 0 {
            for person_id in 1..=config.seed_people.min(10) as i64 {
                let id = data.memberships.allocate_id();
                data.put_membership(id, seed::membership(seed, person_id));
            }
        }
        // A few notes and tasks on the first people (never more than `seed::SMALL_SEED`, so a million-person
        // seed is not slower).
        for person_id in 1..=config.seed_people.min(seed::SMALL_SEED) as i64 {
            let id = data.notes.allocate_id();
            data.notes.put(id, seed::note(seed, person_id));
            let id = data.tasks.allocate_id();
            data.put_task(id, seed::task(seed, person_id, config.seed_users));
            // Actions on cadence 1's steps (1..=3), emails and calls.
            if config.seed_cadences > 0 {
                let step_id = (person_id - 1) % seed::STEPS.len() as i64 + 1;
                let step_type = data.steps.get(step_id).map_or("other", |step| step.step_type);
                let id = data.actions.allocate_id();
                data.actions.put(id, seed::action(seed, person_id, step_id, step_type));
            }
            let id = data.emails.allocate_id();
            data.emails.put(id, seed::email(people_seed, person_id, config.seed_cadences > 0));
            let id = data.calls.allocate_id();
            data.calls.put(id, seed::call(seed, person_id));
        }
        data
    }

    /// A person's data, generated from the seed when it was never written.
    pub fn person<'a>(&self, id: i64, row: &'a PersonRow) -> Cow<'a, Person> {
        match &row.data {
            Some(person) => Cow::Borrowed(person),
            None => Cow::Owned(seed::person(self.people_seed, id)),
        }
    }

    /// The person with this email address (case-insensitive).
    pub fn person_id_by_email(&self, email: &str) -> Option<i64> {
        let lower = email.trim().to_lowercase();
        if let Some(id) = self.person_emails.get(&lower) {
            return Some(*id);
        }
        let id = seed::person_id_in_email(&lower)?;
        let row = self.people.get(id)?;
        if row.data.is_some() {
            return None;
        }
        let seeded = seed::person(self.people_seed, id);
        (seeded.email_address.as_deref() == Some(lower.as_str())).then_some(id)
    }

    /// Every person with this email address (case-insensitive), lowest id first. With unique emails that is
    /// at most one, read from the index; otherwise stored people are scanned (only a team that allows
    /// duplicate emails pays for it).
    pub fn people_ids_by_email(&self, email: &str, unique: bool) -> Vec<i64> {
        if unique {
            return self.person_id_by_email(email).into_iter().collect();
        }
        let lower = email.trim().to_lowercase();
        let mut ids: Vec<i64> = self
            .people
            .by_id(true)
            .filter(|(_, row)| {
                row.data
                    .as_ref()
                    .and_then(|person| person.email_address.as_ref())
                    .is_some_and(|stored| stored.to_lowercase() == lower)
            })
            .map(|(id, _)| id)
            .collect();
        if let Some(id) = seed::person_id_in_email(&lower)
            && self.people.get(id).is_some_and(|row| row.data.is_none())
            && seed::person(self.people_seed, id).email_address.as_deref() == Some(lower.as_str())
        {
            ids.push(id);
        }
        ids.sort_unstable();
        ids
    }

    /// Every person with this CRM id (exact match), lowest id first.
    pub fn people_ids_by_crm_id(&self, crm_id: &str) -> Vec<i64> {
        let mut ids = self.person_crm_ids.get(crm_id).cloned().unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    fn unindex_crm_id(&mut self, crm_id: &str, id: i64) {
        if let Some(ids) = self.person_crm_ids.get_mut(crm_id) {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                self.person_crm_ids.remove(crm_id);
            }
        }
    }

    /// Stores a person, keeping the email and CRM id indexes right.
    pub fn put_person(&mut self, id: i64, created_at: Micros, updated_at: Micros, person: Person) {
        if let Some(old) = self.people.get(id) {
            let old = self.person(id, old);
            let (old_email, old_crm) = (old.email_address.clone(), old.crm_id.clone());
            if let Some(old_email) = old_email {
                self.person_emails.remove(&old_email.to_lowercase());
            }
            if let Some(old_crm) = old_crm {
                self.unindex_crm_id(&old_crm, id);
            }
        }
        if let Some(email) = &person.email_address {
            self.person_emails.insert(email.to_lowercase(), id);
        }
        if let Some(crm_id) = &person.crm_id {
            self.person_crm_ids.entry(crm_id.clone()).or_default().push(id);
        }
        self.people.put(id, PersonRow { created_at, updated_at, data: Some(Box::new(person)) });
    }

    /// Removes a person and the email index entry; marks their memberships `person_deleted`.
    pub fn remove_person(&mut self, id: i64, now: Micros) -> Option<(PersonRow, Person)> {
        let row = self.people.get(id)?.clone();
        let person = self.person(id, &row).into_owned();
        if let Some(email) = &person.email_address {
            self.person_emails.remove(&email.to_lowercase());
        }
        if let Some(crm_id) = &person.crm_id {
            self.unindex_crm_id(crm_id, id);
        }
        self.people.remove(id);
        for membership_id in self.memberships_by_person.get(&id).cloned().unwrap_or_default() {
            if let Some(mut membership) = self.memberships.get(membership_id).cloned() {
                membership.person_deleted = true;
                membership.currently_on_cadence = false;
                membership.current_state = "removed";
                membership.updated_at = now;
                self.memberships.put(membership_id, membership);
            }
        }
        Some((row, person))
    }

    /// The account with this domain.
    pub fn account_id_by_domain(&self, domain: &str) -> Option<i64> {
        self.account_domains.get(&domain.trim().to_lowercase()).copied()
    }

    /// Stores an account, keeping the domain index right.
    pub fn put_account(&mut self, id: i64, account: Account) {
        if let Some(old_domain) = self.accounts.get(id).and_then(|old| old.domain.clone()) {
            self.account_domains.remove(&old_domain);
        }
        if let Some(domain) = &account.domain {
            self.account_domains.insert(domain.to_lowercase(), id);
        }
        self.accounts.put(id, account);
    }

    /// Removes an account; its people lose the link (FACTS.md §5.2: "Deleting an account will remove all
    /// connected people from that account"), which is done lazily: a reference to a missing account renders
    /// as null.
    pub fn remove_account(&mut self, id: i64) -> Option<Account> {
        let account = self.accounts.remove(id)?;
        if let Some(domain) = &account.domain {
            self.account_domains.remove(domain);
        }
        Some(account)
    }

    /// The membership of a (person, cadence) pair.
    pub fn membership_for(&self, person_id: i64, cadence_id: i64) -> Option<i64> {
        self.membership_by_pair.get(&(person_id, cadence_id)).copied()
    }

    /// Stores a membership, keeping the pair and person indexes right.
    pub fn put_membership(&mut self, id: i64, membership: Membership) {
        self.membership_by_pair.insert((membership.person_id, membership.cadence_id), id);
        let ids = self.memberships_by_person.entry(membership.person_id).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
        self.memberships.put(id, membership);
    }

    /// Cadences the person is on now, most recently added last.
    pub fn current_cadences(&self, person_id: i64) -> Vec<i64> {
        let Some(ids) = self.memberships_by_person.get(&person_id) else {
            return Vec::new();
        };
        let mut current: Vec<(Micros, i64)> = ids
            .iter()
            .filter_map(|id| self.memberships.get(*id))
            .filter(|membership| membership.currently_on_cadence)
            .map(|membership| (membership.added_at, membership.cadence_id))
            .collect();
        current.sort_unstable();
        current.into_iter().map(|(_, cadence)| cadence).collect()
    }

    /// People currently on any of these cadences, each once, by id.
    pub fn people_on_cadences(&self, cadence_ids: &[i64]) -> Vec<i64> {
        let mut people: Vec<i64> = self
            .membership_by_pair
            .iter()
            .filter(|((_, cadence), _)| cadence_ids.contains(cadence))
            .filter(|(_, id)| self.memberships.get(**id).is_some_and(|membership| membership.currently_on_cadence))
            .map(|((person, _), _)| *person)
            .collect();
        people.sort_unstable();
        people.dedup();
        people
    }

    /// People currently on a cadence.
    pub fn cadence_people(&self, cadence_id: i64) -> i64 {
        self.membership_by_pair
            .iter()
            .filter(|((_, cadence), _)| *cadence == cadence_id)
            .filter_map(|(_, id)| self.memberships.get(*id))
            .filter(|membership| membership.currently_on_cadence)
            .count() as i64
    }

    /// The user with this guid.
    pub fn user_id_by_guid(&self, guid: &str) -> Option<i64> {
        let wanted = guid.trim();
        self.users.by_id(true).find(|(_, user)| user.guid.eq_ignore_ascii_case(wanted)).map(|(id, _)| id)
    }

    /// Whether user `id` is a team admin.
    pub fn is_admin(&self, id: i64) -> bool {
        self.users.get(id).is_some_and(|user| user.role == "Admin")
    }

    /// Whether a step has an open action that is due (the `has_due_actions` filter of `/v2/steps`).
    pub fn step_has_due_actions(&self, step_id: i64) -> bool {
        self.actions.by_id(true).any(|(_, action)| action.is_open() && action.due && action.step_id == Some(step_id))
    }

    /// The task created with this `idempotency_key`.
    pub fn task_id_by_key(&self, key: &str) -> Option<i64> {
        self.task_keys.get(key).copied()
    }

    /// Stores a task, keeping the idempotency-key index right (a key never changes after the create).
    pub fn put_task(&mut self, id: i64, task: Task) {
        if let Some(key) = &task.idempotency_key {
            self.task_keys.insert(key.clone(), id);
        }
        self.tasks.put(id, task);
    }

    /// Takes the next bulk record id.
    pub fn allocate_bulk_record_id(&mut self) -> i64 {
        let id = self.next_bulk_record_id;
        self.next_bulk_record_id = self.next_bulk_record_id.saturating_add(1);
        id
    }
}
