//! Query-string parameters as SalesLoft reads them (FACTS.md §4): paging, sorting, array filters in both
//! `k[]=a&k[]=b` and `k=a,b` forms, and time-range filters `k[gt|gte|lt|lte]` compared in microseconds.
//!
//! Unknown parameters are ignored; a known parameter with a bad value is a 422 naming it (FACTS.md §3, §10.6).

use crate::clock::{Micros, parse_timestamp};
use crate::errors::ApiError;

/// The parsed query string: `(name, bracket, value)` for every pair, in order.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, Option<String>, String)>,
}

impl Query {
    /// Parses a raw query string (no leading `?`). Never fails: undecodable bytes become U+FFFD.
    pub fn parse(raw: Option<&str>) -> Self {
        let Some(raw) = raw else {
            return Self::default();
        };
        let decoded: Vec<(String, String)> = serde_urlencoded::from_str(raw).unwrap_or_default();
        let pairs = decoded
            .into_iter()
            .map(|(key, value)| match key.find('[') {
                Some(open) if key.ends_with(']') => {
                    let name = key[..open].to_owned();
                    let inner = key[open + 1..key.len() - 1].to_owned();
                    (name, if inner.is_empty() { None } else { Some(inner) }, value)
                }
                _ => (key, None, value),
            })
            .collect();
        Self { pairs }
    }

    /// The last plain value of `name` (`name=v` or `name[]=v`).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(key, op, _)| key == name && op.is_none()).map(|(_, _, value)| value.as_str())
    }

    /// The last value of `name[op]`, e.g. `id[gt]=123` (the cursor of the bulk-job lists).
    pub fn op(&self, name: &str, op: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(key, bracket, _)| key == name && bracket.as_deref() == Some(op))
            .map(|(_, _, value)| value.as_str())
    }

    /// Every value of an array filter, from `name[]=a&name[]=b`, `name=a,b` or `name=["a","b"]`; `None` when
    /// the parameter is absent. Empty items are dropped.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let mut found = false;
        let mut values = Vec::new();
        for (_, _, value) in self.pairs.iter().filter(|(key, op, _)| key == name && op.is_none()) {
            found = true;
            let trimmed = value.trim();
            if trimmed.starts_with('[') {
                // FACTS.md §4.3: some array filters also take a JSON array string.
                if let Ok(items) = serde_json::from_str::<Vec<serde_json::Value>>(trimmed) {
                    values.extend(items.into_iter().map(|item| match item {
                        serde_json::Value::String(text) => text,
                        other => other.to_string(),
                    }));
                    continue;
                }
            }
            values.extend(value.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned));
        }
        found.then_some(values)
    }

    /// An array filter of integer ids; a non-integer item is a 422.
    pub fn int_list(&self, name: &str) -> Result<Option<Vec<i64>>, ApiError> {
        let Some(items) = self.list(name) else {
            return Ok(None);
        };
        items
            .iter()
            .map(|item| item.parse::<i64>().map_err(|_| ApiError::field(name, "must be an integer")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A single integer parameter.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| ApiError::field(name, "must be an integer")),
        }
    }

    /// A boolean parameter (`true|false|1|0|t|f`, any case).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => parse_bool(text).map(Some).ok_or_else(|| ApiError::field(name, "must be true or false")),
        }
    }

    /// A time-range filter: `name[gt]`, `name[gte]`, `name[lt]`, `name[lte]`, or plain `name=t` (equality).
    pub fn time_range(&self, name: &str) -> Result<Option<TimeRange>, ApiError> {
        let mut range = TimeRange::default();
        let mut found = false;
        for (_, op, value) in self.pairs.iter().filter(|(key, _, _)| key == name) {
            let micros = parse_timestamp(value).ok_or_else(|| ApiError::field(name, "is not a valid timestamp"))?;
            let op = op.as_deref().unwrap_or("eq");
            match op {
                "gt" => range.gt = Some(range.gt.map_or(micros, |old| old.max(micros))),
                "gte" => range.gte = Some(range.gte.map_or(micros, |old| old.max(micros))),
                "lt" => range.lt = Some(range.lt.map_or(micros, |old| old.min(micros))),
                "lte" => range.lte = Some(range.lte.map_or(micros, |old| old.min(micros))),
                "eq" => {
                    range.gte = Some(micros);
                    range.lte = Some(micros);
                }
                _ => continue,
            }
            found = true;
            range.echo.push((op.to_owned(), value.clone()));
        }
        Ok(found.then_some(range))
    }

    /// `page`, `per_page`, `include_paging_counts`, `limit_paging_counts` (FACTS.md §4.1: page ≥ 1 default 1,
    /// per_page clamped to 1..=100 default 25; out-of-range values are corrected silently, non-numbers are 422).
    pub fn paging(&self) -> Result<Paging, ApiError> {
        let page = self.int("page")?.unwrap_or(1).max(1) as u64;
        let per_page = self.int("per_page")?.unwrap_or(25).clamp(1, 100) as u64;
        Ok(Paging {
            page,
            per_page,
            page_given: self.get("page").is_some(),
            include_counts: self.bool("include_paging_counts")?.unwrap_or(false),
            limit_counts: self.bool("limit_paging_counts")?.unwrap_or(false),
        })
    }

    /// `sort_by` (one of `allowed`, default `default_key`) and `sort_direction` (`ASC|DESC`, any case,
    /// default `DESC`); anything else is a 422 (FACTS.md §10.5).
    pub fn sorting(&self, allowed: &[&'static str], default_key: &'static str) -> Result<Sorting, ApiError> {
        self.sorting_with(allowed, default_key, false)
    }

    /// Like [`Query::sorting`], for resources whose default direction is not `DESC` (FACTS.md §4.1: tasks
    /// default to `due_date` `ASC`).
    pub fn sorting_with(
        &self,
        allowed: &[&'static str],
        default_key: &'static str,
        default_ascending: bool,
    ) -> Result<Sorting, ApiError> {
        let key = match self.get("sort_by") {
            None => default_key,
            Some(text) => allowed
                .iter()
                .find(|candidate| **candidate == text)
                .copied()
                .ok_or_else(|| ApiError::field("sort_by", format!("must be one of: {}", allowed.join(", "))))?,
        };
        let ascending = match self.get("sort_direction") {
            None => default_ascending,
            Some(text) if text.eq_ignore_ascii_case("asc") => true,
            Some(text) if text.eq_ignore_ascii_case("desc") => false,
            Some(_) => {
                return Err(ApiError::field("sort_direction", "must be one of: ASC, DESC"));
            }
        };
        Ok(Sorting { key, ascending })
    }
}

/// Parses a boolean parameter or body value.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "t" | "yes" => Some(true),
        "false" | "0" | "f" | "no" => Some(false),
        _ => None,
    }
}

/// Bounds of a time-range filter, in microseconds (FACTS.md §4.3: "microsecond precision").
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TimeRange {
    /// Strictly after.
    pub gt: Option<Micros>,
    /// At or after.
    pub gte: Option<Micros>,
    /// Strictly before.
    pub lt: Option<Micros>,
    /// At or before.
    pub lte: Option<Micros>,
    /// `(operator, text as given)` for `metadata.filtering`.
    pub echo: Vec<(String, String)>,
}

impl TimeRange {
    /// Whether `value` is inside the range.
    pub fn contains(&self, value: Micros) -> bool {
        self.gt.is_none_or(|bound| value > bound)
            && self.gte.is_none_or(|bound| value >= bound)
            && self.lt.is_none_or(|bound| value < bound)
            && self.lte.is_none_or(|bound| value <= bound)
    }

    /// The smallest value that can be inside.
    pub fn lower(&self) -> Micros {
        let from_gt = self.gt.map_or(i64::MIN, |bound| bound.saturating_add(1));
        from_gt.max(self.gte.unwrap_or(i64::MIN))
    }

    /// The largest value that can be inside.
    pub fn upper(&self) -> Micros {
        let from_lt = self.lt.map_or(i64::MAX, |bound| bound.saturating_sub(1));
        from_lt.min(self.lte.unwrap_or(i64::MAX))
    }
}

/// Paging parameters after correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page.
    pub page: u64,
    /// Records per page, 1..=100.
    pub per_page: u64,
    /// Whether `page` was in the query (`/v2/users` only pages when it is; FACTS.md §4.1).
    pub page_given: bool,
    /// `include_paging_counts`.
    pub include_counts: bool,
    /// `limit_paging_counts`: cap counts at 10 000 records.
    pub limit_counts: bool,
}

impl Paging {
    /// Records to skip.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// Sorting parameters after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sorting {
    /// The `sort_by` key.
    pub key: &'static str,
    /// `ASC` (true) or `DESC` (false).
    pub ascending: bool,
}

/// Extracts the `page` parameter for cost accounting, before routing (FACTS.md §2.2 prices by page number).
pub fn page_number(raw_query: Option<&str>) -> u64 {
    let Some(raw) = raw_query else { return 1 };
    raw.split('&')
        .filter_map(|pair| pair.strip_prefix("page="))
        .next_back()
        .and_then(|value| value.trim().parse::<i64>().ok())
        .map_or(1, |page| page.max(1) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_in_both_forms_and_json() {
        let query = Query::parse(Some("ids[]=1&ids[]=2&email_addresses=a%40x.com,b%40x.com&group_ids=[3,4]"));
        assert_eq!(query.int_list("ids").expect("ints"), Some(vec![1, 2]));
        assert_eq!(query.list("email_addresses"), Some(vec!["a@x.com".to_owned(), "b@x.com".to_owned()]));
        assert_eq!(query.list("group_ids"), Some(vec!["3".to_owned(), "4".to_owned()]));
        assert_eq!(query.list("missing"), None);
        assert!(Query::parse(Some("ids=1,x")).int_list("ids").is_err());
    }

    #[test]
    fn time_ranges_and_paging() {
        let query = Query::parse(Some(
            "updated_at[gt]=2024-01-01T00:00:00.000001Z&updated_at[lte]=2024-01-02T00:00:00Z&per_page=500&page=0",
        ));
        let range = query.time_range("updated_at").expect("valid").expect("present");
        let base = parse_timestamp("2024-01-01T00:00:00Z").expect("ts");
        assert!(!range.contains(base + 1));
        assert!(range.contains(base + 2));
        assert_eq!(range.lower(), base + 2);
        let paging = query.paging().expect("valid");
        assert_eq!((paging.page, paging.per_page), (1, 100));
        assert!(Query::parse(Some("updated_at[gt]=soon")).time_range("updated_at").is_err());
        assert!(Query::parse(Some("per_page=ten")).paging().is_err());
    }

    #[test]
    fn sorting_validates() {
        let allowed = ["updated_at", "created_at"];
        let sorting = Query::parse(Some("sort_by=created_at&sort_direction=asc")).sorting(&allowed, "updated_at");
        assert_eq!(sorting.expect("valid"), Sorting { key: "created_at", ascending: true });
        assert!(Query::parse(Some("sort_by=nope")).sorting(&allowed, "updated_at").is_err());
        assert!(Query::parse(Some("sort_direction=up")).sorting(&allowed, "updated_at").is_err());
    }

    #[test]
    fn page_number_for_costs() {
        assert_eq!(page_number(Some("per_page=1&page=151")), 151);
        assert_eq!(page_number(Some("page=abc")), 1);
        assert_eq!(page_number(None), 1);
    }

    mod properties {
        use super::super::*;
        use crate::clock::format_timestamp;
        use proptest::prelude::*;

        /// A 422 that names exactly `field` (a clean error: no other field, no panic, no 500).
        fn names_only(error: &ApiError, field: &str) -> bool {
            matches!(error, ApiError::Validation(fields) if fields.len() == 1 && fields[0].0 == field)
        }

        fn encode(text: &str) -> String {
            percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
        }

        proptest! {
            /// Fuzz: any query string parses, and every accessor answers or fails with a 422 naming its
            /// parameter.
            #[test]
            fn any_query_string_is_read_without_panicking(raw in any::<String>()) {
                let query = Query::parse(Some(&raw));
                let _ = query.get("ids");
                let _ = query.list("ids");
                if let Err(error) = query.int_list("ids") { prop_assert!(names_only(&error, "ids"), "{error:?}"); }
                if let Err(error) = query.int("page") { prop_assert!(names_only(&error, "page"), "{error:?}"); }
                if let Err(error) = query.bool("include_paging_counts") {
                    prop_assert!(names_only(&error, "include_paging_counts"), "{error:?}");
                }
                if let Err(error) = query.time_range("updated_at") { prop_assert!(names_only(&error, "updated_at"), "{error:?}"); }
                match query.paging() {
                    Ok(paging) => prop_assert!(paging.page >= 1 && (1..=100).contains(&paging.per_page), "{paging:?}"),
                    Err(error) => prop_assert!(matches!(error, ApiError::Validation(_)), "{error:?}"),
                }
                if let Err(error) = query.sorting(&["updated_at"], "updated_at") { prop_assert!(matches!(error, ApiError::Validation(_))); }
                prop_assert!(page_number(Some(&raw)) >= 1);
            }

            /// Fuzz with query-shaped input: names, brackets, operators and escapes in any order.
            #[test]
            fn query_shaped_strings_are_read_without_panicking(raw in r"([a-z_\[\]]{0,12}(=[-0-9a-zA-Z%:+. ,\[\]T]{0,30})?&?){0,8}") {
                let query = Query::parse(Some(&raw));
                let _ = query.list("ids");
                let _ = query.int_list("ids");
                let _ = query.time_range("updated_at");
                let _ = query.paging();
                let _ = query.sorting(&["updated_at", "created_at"], "updated_at");
                prop_assert!(page_number(Some(&raw)) >= 1);
            }

            /// The three array forms read the same list (FACTS.md §4.3).
            #[test]
            fn array_forms_agree(items in proptest::collection::vec("[a-zA-Z0-9@.]{1,12}", 1..6)) {
                let bracketed: Vec<String> = items.iter().map(|item| format!("k[]={}", encode(item))).collect();
                let comma = format!("k={}", encode(&items.join(",")));
                let json = format!("k={}", encode(&serde_json::to_string(&items).expect("json")));
                for raw in [bracketed.join("&"), comma, json] {
                    prop_assert_eq!(Query::parse(Some(&raw)).list("k"), Some(items.clone()), "{}", raw);
                }
            }

            /// Integer lists round-trip; one non-integer item makes it a 422 on that parameter.
            #[test]
            fn int_lists_round_trip(ids in proptest::collection::vec(any::<i64>(), 1..6), bad in "[a-z]{1,5}") {
                let raw = ids.iter().map(|id| format!("ids[]={id}")).collect::<Vec<_>>().join("&");
                prop_assert_eq!(Query::parse(Some(&raw)).int_list("ids").expect("ints"), Some(ids.clone()));
                let error = Query::parse(Some(&format!("{raw}&ids[]={bad}"))).int_list("ids").expect_err("not an integer");
                prop_assert!(names_only(&error, "ids"));
            }

            /// Paging is corrected into range, and the cost accounting reads the same page.
            #[test]
            fn paging_is_clamped_and_priced_by_the_same_page(page in any::<i64>(), per_page in any::<i64>()) {
                let raw = format!("page={page}&per_page={per_page}");
                let paging = Query::parse(Some(&raw)).paging().expect("numbers are valid");
                prop_assert_eq!(paging.page, page.max(1) as u64);
                prop_assert_eq!(paging.per_page, per_page.clamp(1, 100) as u64);
                prop_assert_eq!(page_number(Some(&raw)), paging.page);
            }

            /// A time range built from rendered timestamps holds exactly the values between its bounds, whatever
            /// the offset the timestamps are rendered in.
            #[test]
            fn time_ranges_hold_what_their_bounds_say(
                a in 0i64..4_000_000_000_000_000,
                b in 0i64..4_000_000_000_000_000,
                probe in 0i64..4_000_000_000_000_000,
                offset in -720i32..=840,
            ) {
                let (low, high) = (a.min(b), a.max(b));
                let raw = format!(
                    "updated_at[gt]={}&updated_at[lte]={}",
                    encode(&format_timestamp(low, offset)),
                    encode(&format_timestamp(high, offset)),
                );
                let range = Query::parse(Some(&raw)).time_range("updated_at").expect("valid").expect("present");
                prop_assert_eq!(range.contains(probe), probe > low && probe <= high);
                prop_assert_eq!(range.lower(), low + 1);
                prop_assert_eq!(range.upper(), high);
            }
        }
    }
}
