//! Recent events of a test: the operator's (about the LocustTest) and the cluster's about its Jobs
//! and pods (image pulls, scheduling), newest last.

use jiff::Timestamp;
use k8s_openapi::api::events::v1::Event;

/// One event as shown to a user.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    /// `Kind/name` of the object the event is about.
    pub object: String,
    pub message: String,
    /// When it last happened.
    pub time: Option<Timestamp>,
    /// How often it happened (1 without a series).
    pub count: i32,
}

impl EventRow {
    pub fn is_warning(&self) -> bool {
        self.type_ == "Warning"
    }
}

/// Whether an event about `kind`/`name` belongs to test `test`: the test itself, its Service and
/// Jobs (`{test}-master`, `{test}-worker`) and their pods (`{test}-master-xxxxx`, ...).
fn belongs_to(test: &str, kind: &str, name: &str) -> bool {
    if kind == shared::constants::KIND {
        return name == test;
    }
    let master = shared::naming::master_name(test);
    let worker = shared::naming::worker_name(test);
    [master, worker].iter().any(|child| {
        name == child
            || name
                .strip_prefix(child.as_str())
                .is_some_and(|rest| rest.starts_with('-'))
    })
}

/// The last `limit` events of test `test` among `events` (any order), oldest first.
pub fn events_for(test: &str, events: &[Event], limit: usize) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = events
        .iter()
        .filter_map(|event| {
            let regarding = event.regarding.as_ref()?;
            let kind = regarding.kind.clone().unwrap_or_default();
            let name = regarding.name.clone().unwrap_or_default();
            belongs_to(test, &kind, &name).then(|| EventRow {
                type_: event.type_.clone().unwrap_or_else(|| "Normal".into()),
                reason: event.reason.clone().unwrap_or_default(),
                object: format!("{kind}/{name}"),
                message: event.note.clone().unwrap_or_default(),
                time: last_seen(event),
                count: event.series.as_ref().map_or(1, |series| series.count),
            })
        })
        .collect();
    rows.sort_by_key(|row| row.time);
    let skip = rows.len().saturating_sub(limit);
    rows.split_off(skip)
}

fn last_seen(event: &Event) -> Option<Timestamp> {
    event
        .series
        .as_ref()
        .map(|series| series.last_observed_time.0)
        .or_else(|| event.event_time.as_ref().map(|time| time.0))
        .or_else(|| event.deprecated_last_timestamp.as_ref().map(|time| time.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|time| time.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn event(kind: &str, name: &str, reason: &str, second: i64) -> Event {
        Event {
            regarding: Some(ObjectReference {
                kind: Some(kind.into()),
                name: Some(name.into()),
                ..ObjectReference::default()
            }),
            reason: Some(reason.into()),
            event_time: Some(MicroTime(Timestamp::from_second(second).unwrap_or_default())),
            ..Event::default()
        }
    }

    #[test]
    fn keeps_the_tests_own_and_its_childrens_events_newest_last() {
        let events = vec![
            event("Pod", "demo-worker-abcde", "Failed", 30),
            event("LocustTest", "demo", "Created", 10),
            event("LocustTest", "demo-2", "Created", 11),
            event("Pod", "demo-workers-x", "Pulled", 12),
            event("Job", "demo-master", "SuccessfulCreate", 20),
        ];
        let rows = events_for("demo", &events, 10);
        let reasons: Vec<&str> = rows.iter().map(|row| row.reason.as_str()).collect();
        assert_eq!(reasons, vec!["Created", "SuccessfulCreate", "Failed"]);
        assert_eq!(rows[2].object, "Pod/demo-worker-abcde");
    }

    #[test]
    fn limit_keeps_the_newest() {
        let events: Vec<Event> = (0..5)
            .map(|i| event("LocustTest", "demo", &format!("R{i}"), i))
            .collect();
        let reasons: Vec<String> = events_for("demo", &events, 2)
            .into_iter()
            .map(|row| row.reason)
            .collect();
        assert_eq!(reasons, vec!["R3", "R4"]);
    }
}
