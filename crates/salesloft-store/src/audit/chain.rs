//! The audit-chain check, as a pure function over records: no database, no clock.
//!
//! [`verify_chain`] checks a whole slice; [`ChainCheck`] is the same check fed one record at a time, so the
//! store can stream a large log without holding it in memory ([`crate::Audit::verify`] does). Both report the
//! *first* problem only: after a break, every later link is suspect and says nothing new.
//!
//! What each kind of tampering looks like to the check (the table test below has one row per kind):
//!
//! | tampering | what the walk sees | reported as |
//! |---|---|---|
//! | a record's content changed, hash kept | content ≠ hash | [`ProblemKind::Altered`] at that record |
//! | a record changed and re-hashed | the next record links to a hash no longer in the log | [`ProblemKind::Missing`] |
//! | the last record changed and re-hashed | its hash ≠ the store's chain head | [`ProblemKind::Altered`] |
//! | a record deleted | a gap in the sequence numbers | [`ProblemKind::Missing`] at the gap |
//! | a record deleted, the rest renumbered | a link to a hash no longer in the log | [`ProblemKind::Missing`] |
//! | a record inserted, the rest renumbered | the next record links to the one before the insert | [`ProblemKind::Reordered`] |
//! | records appended around the store | more records than the chain head counts | [`ProblemKind::Altered`] |
//! | records swapped | a record links to one that sits elsewhere | [`ProblemKind::Reordered`] |
//! | the tail cut off | fewer records than the chain head counts | [`ProblemKind::Missing`] |
//! | the tail cut off and the head rewritten | an anchored head hash that is not in the log | [`ProblemKind::AnchorMissing`] |
//! | the wrong (or no) HMAC key | the first record's content ≠ its hash | [`ProblemKind::Altered`] at #1 |

use super::{AuditKey, AuditRecord, ChainHead, GENESIS_HASH, Problem, ProblemKind, VerifyReport};

/// Checks `records` (in sequence order, as stored) against the store's chain `head`, with `key` if the chain
/// is keyed, and — with `anchored` — requires that hash (a chain head recorded elsewhere earlier) to be in it.
pub fn verify_chain(
    records: &[AuditRecord],
    head: &ChainHead,
    key: Option<&AuditKey>,
    anchored: Option<&str>,
) -> VerifyReport {
    let mut check = ChainCheck::new(key, anchored);
    for record in records {
        if !check.push(record.clone()) {
            break;
        }
    }
    let predecessor = check
        .needs_predecessor()
        .and_then(|hash| records.iter().find(|record| record.hash == hash))
        .map(|record| record.seq);
    check.finish(head, predecessor)
}

/// Where the walk stopped.
#[derive(Debug)]
enum Break {
    /// The sequence jumps from `expected - 1` to `got`.
    Gap { expected: i64, got: i64 },
    /// The record's content does not match its hash.
    Altered(i64),
    /// The record is intact but links to another record than the one before it.
    Link(Box<AuditRecord>),
}

/// The chain check fed one record at a time; see [`verify_chain`] for the whole-slice form.
///
/// Feed records in sequence order with [`ChainCheck::push`] until it returns `false`; then, if
/// [`ChainCheck::needs_predecessor`] names a hash, look up the sequence number of the record that has it, and
/// pass that to [`ChainCheck::finish`].
#[derive(Debug)]
pub struct ChainCheck<'a> {
    key: Option<&'a AuditKey>,
    anchored: Option<&'a str>,
    expected_seq: i64,
    expected_prev: String,
    records: u64,
    anchor_seen: bool,
    found: Option<Break>,
}

impl<'a> ChainCheck<'a> {
    /// A check of an unread chain, keyed with `key`, requiring the `anchored` hash if one is given.
    pub fn new(key: Option<&'a AuditKey>, anchored: Option<&'a str>) -> Self {
        Self {
            key,
            anchored,
            expected_seq: 1,
            expected_prev: GENESIS_HASH.to_owned(),
            records: 0,
            // An empty chain's head is the genesis hash.
            anchor_seen: anchored == Some(GENESIS_HASH),
            found: None,
        }
    }

    /// Takes the next record; `false` once a problem was found (later records are not looked at).
    pub fn push(&mut self, record: AuditRecord) -> bool {
        if self.found.is_some() {
            return false;
        }
        self.records += 1;
        if record.seq != self.expected_seq {
            self.found = Some(Break::Gap { expected: self.expected_seq, got: record.seq });
        } else if record.computed_hash_with(self.key) != record.hash {
            self.found = Some(Break::Altered(record.seq));
        } else if record.prev_hash != self.expected_prev {
            self.found = Some(Break::Link(Box::new(record)));
        } else {
            if self.anchored == Some(record.hash.as_str()) {
                self.anchor_seen = true;
            }
            self.expected_seq += 1;
            self.expected_prev = record.hash;
        }
        self.found.is_none()
    }

    /// The hash whose record's sequence number [`ChainCheck::finish`] needs, to tell a reordered record (its
    /// predecessor is elsewhere in the log) from one whose predecessor is gone.
    pub fn needs_predecessor(&self) -> Option<&str> {
        match &self.found {
            Some(Break::Link(record)) => Some(record.prev_hash.as_str()),
            _ => None,
        }
    }

    /// The report, given the store's chain head and the sequence number of the record holding the hash that
    /// [`ChainCheck::needs_predecessor`] named (`None` when no record has it, or none was asked for).
    pub fn finish(self, head: &ChainHead, predecessor: Option<i64>) -> VerifyReport {
        let last_seq = self.expected_seq - 1;
        let head_seq = head.seq;
        let problem = match self.found {
            Some(Break::Gap { expected, got }) => Some(gap(expected, got)),
            Some(Break::Altered(seq)) => Some(Problem {
                seq,
                kind: ProblemKind::Altered,
                detail: format!("record #{seq} was altered: its content no longer matches its hash"),
            }),
            Some(Break::Link(record)) => Some(broken_link(&record, predecessor)),
            None if head_seq > last_seq => Some(Problem {
                seq: last_seq + 1,
                kind: ProblemKind::Missing,
                detail: if head_seq == last_seq + 1 {
                    format!("record #{head_seq} (the last one appended) is missing")
                } else {
                    format!("records #{}..#{head_seq} (the last ones appended) are missing", last_seq + 1)
                },
            }),
            None if head_seq < last_seq => Some(Problem {
                seq: head_seq + 1,
                kind: ProblemKind::Altered,
                detail: format!(
                    "records #{}..#{last_seq} were not appended through the store (the chain head is #{head_seq})",
                    head_seq + 1
                ),
            }),
            None if head.hash != self.expected_prev => Some(Problem {
                seq: last_seq,
                kind: ProblemKind::Altered,
                detail: format!(
                    "record #{last_seq} was altered and re-hashed: it differs from the recorded chain head"
                ),
            }),
            None if self.anchored.is_some() && !self.anchor_seen => Some(Problem {
                seq: head_seq,
                kind: ProblemKind::AnchorMissing,
                detail: format!(
                    "the chain verifies on its own, but the anchored head {} is not in it: the log was rewritten \
                     (records up to or after the anchor were replaced and re-hashed)",
                    self.anchored.unwrap_or_default()
                ),
            }),
            None => None,
        };
        VerifyReport { ok: problem.is_none(), records: self.records, head_seq, first_problem: problem }
    }
}

fn gap(expected: i64, got: i64) -> Problem {
    Problem {
        seq: expected,
        kind: ProblemKind::Missing,
        detail: if got == expected + 1 {
            format!("record #{expected} is missing (the log jumps from #{} to #{got})", expected - 1)
        } else {
            format!("records #{expected}..#{} are missing (the log jumps from #{} to #{got})", got - 1, expected - 1)
        },
    }
}

fn broken_link(record: &AuditRecord, predecessor: Option<i64>) -> Problem {
    let seq = record.seq;
    match predecessor {
        Some(p) => Problem {
            seq,
            kind: ProblemKind::Reordered,
            detail: format!(
                "record #{seq} was reordered: it was appended after the record now at #{p}, not after #{}",
                seq - 1
            ),
        },
        None if record.prev_hash == GENESIS_HASH => Problem {
            seq,
            kind: ProblemKind::Reordered,
            detail: format!("record #{seq} was reordered: it was appended as the first record"),
        },
        None => Problem {
            seq,
            kind: ProblemKind::Missing,
            detail: format!(
                "the record that #{seq} was appended after is gone: a record before #{seq} was removed (and the \
                 rest renumbered), or #{} was altered and re-hashed",
                seq - 1
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn key(byte: u8) -> AuditKey {
        AuditKey::new(vec![byte; AuditKey::MIN_LEN]).unwrap_or_else(|e| panic!("test key: {e}"))
    }

    /// A record with `seq`, appended after `prev_hash`, hashed with `key`.
    fn record(seq: i64, operation: &str, prev_hash: &str, key: Option<&AuditKey>) -> AuditRecord {
        let mut record = AuditRecord {
            seq,
            at: datetime!(2026-11-28 04:00:00 UTC) + time::Duration::seconds(seq),
            actor: "crm-sync".into(),
            operation: operation.into(),
            resource: format!("people/{seq}"),
            request: r#"{"email_address":"ada@example.com"}"#.into(),
            response_status: Some(200),
            idempotency_key: Some(format!("upsert:{seq}")),
            correlation_id: None,
            prev_hash: prev_hash.into(),
            hash: String::new(),
        };
        record.hash = record.computed_hash_with(key);
        record
    }

    /// An intact chain of `n` records and its head.
    fn chain(n: i64, key: Option<&AuditKey>) -> (Vec<AuditRecord>, ChainHead) {
        let mut records = Vec::new();
        let mut prev = GENESIS_HASH.to_owned();
        for seq in 1..=n {
            let next = record(seq, "people.update", &prev, key);
            prev = next.hash.clone();
            records.push(next);
        }
        (records, ChainHead { seq: n, hash: prev })
    }

    /// Gives the records their positions as sequence numbers again (what an attacker hiding a gap does).
    fn renumber(records: &mut [AuditRecord]) {
        for (i, record) in records.iter_mut().enumerate() {
            record.seq = i as i64 + 1;
        }
    }

    /// Re-hashes `records[i]` (with `key`) after a change.
    fn rehash(records: &mut [AuditRecord], i: usize, key: Option<&AuditKey>) {
        records[i].hash = records[i].computed_hash_with(key);
    }

    /// What a case expects: `None` for a clean chain, else the first problem's kind and sequence number.
    type Expected = Option<(ProblemKind, i64)>;

    /// Tampers with an intact 5-record unkeyed chain and its head; returns the key and anchor to verify with.
    type Tamper = fn(&mut Vec<AuditRecord>, &mut ChainHead) -> (Option<AuditKey>, Option<String>);

    struct Case {
        name: &'static str,
        tamper: Tamper,
        expected: Expected,
    }

    const CASES: &[Case] = &[
        Case { name: "an intact chain", tamper: |_, _| (None, None), expected: None },
        Case {
            name: "an intact chain with its current head anchored",
            tamper: |_, head| (None, Some(head.hash.clone())),
            expected: None,
        },
        Case {
            name: "an intact chain with an earlier head anchored (records appended since are fine)",
            tamper: |records, _| (None, Some(records[2].hash.clone())),
            expected: None,
        },
        Case {
            name: "an empty chain anchored at the genesis hash",
            tamper: |records, head| {
                records.clear();
                *head = ChainHead { seq: 0, hash: GENESIS_HASH.into() };
                (None, Some(GENESIS_HASH.into()))
            },
            expected: None,
        },
        Case {
            name: "a record altered, its hash kept",
            tamper: |records, _| {
                records[1].request = r#"{"email_address":"eve@example.com"}"#.into();
                (None, None)
            },
            expected: Some((ProblemKind::Altered, 2)),
        },
        Case {
            name: "a record altered and re-hashed (the next link breaks)",
            tamper: |records, _| {
                records[1].actor = "someone-else".into();
                rehash(records, 1, None);
                (None, None)
            },
            expected: Some((ProblemKind::Missing, 3)),
        },
        Case {
            name: "the last record altered and re-hashed (the head disagrees)",
            tamper: |records, _| {
                records[4].response_status = Some(500);
                rehash(records, 4, None);
                (None, None)
            },
            expected: Some((ProblemKind::Altered, 5)),
        },
        Case {
            name: "a record deleted",
            tamper: |records, _| {
                records.remove(1);
                (None, None)
            },
            expected: Some((ProblemKind::Missing, 2)),
        },
        Case {
            name: "two records deleted",
            tamper: |records, _| {
                records.drain(1..3);
                (None, None)
            },
            expected: Some((ProblemKind::Missing, 2)),
        },
        Case {
            name: "a record deleted and the rest renumbered",
            tamper: |records, _| {
                records.remove(1);
                renumber(records);
                (None, None)
            },
            expected: Some((ProblemKind::Missing, 2)),
        },
        Case {
            name: "the first record deleted and the rest renumbered",
            tamper: |records, _| {
                records.remove(0);
                renumber(records);
                (None, None)
            },
            expected: Some((ProblemKind::Missing, 1)),
        },
        Case {
            name: "a forged record inserted and the rest renumbered",
            tamper: |records, _| {
                let forged = record(2, "people.delete", &records[0].hash, None);
                records.insert(1, forged);
                renumber(records);
                (None, None)
            },
            expected: Some((ProblemKind::Reordered, 3)),
        },
        Case {
            name: "a forged record appended without the store (the head is not moved)",
            tamper: |records, head| {
                let forged = record(6, "people.delete", &head.hash, None);
                records.push(forged);
                (None, None)
            },
            expected: Some((ProblemKind::Altered, 6)),
        },
        Case {
            name: "two records swapped, their numbers kept",
            tamper: |records, _| {
                records.swap(1, 2);
                renumber(records);
                (None, None)
            },
            expected: Some((ProblemKind::Reordered, 2)),
        },
        Case {
            name: "a later record moved to the front",
            tamper: |records, _| {
                let moved = records.remove(3);
                records.insert(0, moved);
                renumber(records);
                (None, None)
            },
            expected: Some((ProblemKind::Reordered, 1)),
        },
        Case {
            name: "the first record moved back",
            tamper: |records, _| {
                records.swap(0, 1);
                renumber(records);
                (None, None)
            },
            expected: Some((ProblemKind::Reordered, 1)),
        },
        Case {
            name: "the tail truncated (the head still counts it)",
            tamper: |records, _| {
                records.truncate(3);
                (None, None)
            },
            expected: Some((ProblemKind::Missing, 4)),
        },
        Case {
            name: "the tail truncated and the head rewritten, against an anchored head",
            tamper: |records, head| {
                let anchor = head.hash.clone();
                records.truncate(3);
                *head = ChainHead { seq: 3, hash: records[2].hash.clone() };
                (None, Some(anchor))
            },
            expected: Some((ProblemKind::AnchorMissing, 3)),
        },
        Case {
            name: "the whole chain rewritten with fresh hashes, against an anchored head",
            tamper: |records, head| {
                let anchor = head.hash.clone();
                records[0].resource = "people/999".into();
                let mut prev = GENESIS_HASH.to_owned();
                for record in records.iter_mut() {
                    record.prev_hash = prev;
                    record.hash = record.computed_hash_with(None);
                    prev = record.hash.clone();
                }
                *head = ChainHead { seq: 5, hash: prev };
                (None, Some(anchor))
            },
            expected: Some((ProblemKind::AnchorMissing, 5)),
        },
        Case {
            name: "an unkeyed chain checked with an HMAC key",
            tamper: |_, _| (Some(key(7)), None),
            expected: Some((ProblemKind::Altered, 1)),
        },
    ];

    fn found(report: &VerifyReport) -> Expected {
        report.first_problem.as_ref().map(|problem| (problem.kind, problem.seq))
    }

    #[test]
    fn each_kind_of_tampering_is_found_and_named() {
        for case in CASES {
            let (mut records, mut head) = chain(5, None);
            let (key, anchor) = (case.tamper)(&mut records, &mut head);
            let report = verify_chain(&records, &head, key.as_ref(), anchor.as_deref());
            assert_eq!(found(&report), case.expected, "{}: got {report:?}", case.name);
            assert_eq!(report.ok, case.expected.is_none(), "{}", case.name);
            assert_eq!(report.head_seq, head.seq, "{}", case.name);
        }
    }

    #[test]
    fn a_keyed_chain_verifies_only_with_its_own_key() {
        let right = key(1);
        let (records, head) = chain(4, Some(&right));
        let table: [(&str, Option<AuditKey>, Expected); 3] = [
            ("its own key", Some(right.clone()), None),
            ("a wrong key", Some(key(2)), Some((ProblemKind::Altered, 1))),
            ("no key", None, Some((ProblemKind::Altered, 1))),
        ];
        for (name, key, expected) in table {
            let report = verify_chain(&records, &head, key.as_ref(), None);
            assert_eq!(found(&report), expected, "checked with {name}: got {report:?}");
        }
    }

    #[test]
    fn a_keyed_chain_rewritten_without_the_key_is_altered() {
        let right = key(1);
        let (mut records, _) = chain(3, Some(&right));
        records[1].operation = "people.delete".into();
        let mut prev = records[0].hash.clone();
        for record in records.iter_mut().skip(1) {
            record.prev_hash = prev;
            record.hash = record.computed_hash_with(Some(&key(9)));
            prev = record.hash.clone();
        }
        let head = ChainHead { seq: 3, hash: prev };
        let report = verify_chain(&records, &head, Some(&right), None);
        assert_eq!(found(&report), Some((ProblemKind::Altered, 2)), "got {report:?}");
    }

    #[test]
    fn the_walk_stops_at_the_first_problem() {
        let (mut records, head) = chain(5, None);
        records[1].actor = "x".into();
        records[3].actor = "y".into();
        let report = verify_chain(&records, &head, None, None);
        assert_eq!(found(&report), Some((ProblemKind::Altered, 2)));
        assert_eq!(report.records, 2, "records after the first problem are not read");
        let detail = report.first_problem.map(|p| p.detail).unwrap_or_default();
        assert_eq!(detail, "record #2 was altered: its content no longer matches its hash");
    }

    #[test]
    fn gaps_name_the_missing_range() {
        let (mut records, head) = chain(6, None);
        records.drain(1..4);
        let report = verify_chain(&records, &head, None, None);
        let detail = report.first_problem.map(|p| p.detail).unwrap_or_default();
        assert_eq!(detail, "records #2..#4 are missing (the log jumps from #1 to #5)");
    }
}
