//! `kubectl locust status [NAME]`: a table of tests, or one test in detail; `-o json|yaml|name` for
//! machines; `-w` to keep printing what changes.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use shared::api::v2::LocustTest;

use crate::cli::{GlobalArgs, OutputFormat, StatusArgs};
use crate::client::Cluster;
use crate::commands::run::objects::resource_name;
use crate::commands::run::wait::{POLL_INTERVAL_ENV, poll_interval};
use crate::error::PluginError;
use crate::exit;
use crate::output::Palette;
use crate::render::events::EventRow;
use crate::render::{detail, table};

/// Events shown in the detailed view.
const EVENTS: usize = 10;

pub async fn execute(global: &GlobalArgs, args: StatusArgs) -> Result<u8, PluginError> {
    let cluster = Cluster::connect(global).await?;
    let palette = Palette::new(global.color);
    let interval = poll_interval(std::env::var(POLL_INTERVAL_ENV).ok().as_deref())?;
    let work = async {
        match &args.name {
            Some(name) => one(&cluster, name, &args, palette, interval).await,
            None => many(&cluster, global.all_namespaces, &args, palette, interval).await,
        }
    };
    if !args.watch {
        return work.await;
    }
    tokio::select! {
        result = work => result,
        // Ctrl-C is how a watch is meant to end.
        _ = tokio::signal::ctrl_c() => Ok(exit::OK),
    }
}

/// Where printing goes; a closed pipe (`| head`) ends the command quietly, as it does kubectl.
struct Out;

impl Out {
    /// Prints `text` and a newline; false once the reader has gone.
    fn print(&self, text: &str) -> Result<bool, PluginError> {
        let mut stdout = std::io::stdout().lock();
        match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(error) => Err(PluginError::Other(format!("cannot write the output: {error}"))),
        }
    }
}

/// `objects` as `-o json|yaml|name` prints them: one object as stored, several as a `List`
/// (JSON, YAML) or a line each (name). `None` for the human formats.
pub fn machine_output(objects: &[Value], format: OutputFormat, single: bool) -> Result<Option<String>, PluginError> {
    let value = match (single, objects) {
        (true, [object]) => object.clone(),
        _ => json!({"apiVersion": "v1", "kind": "List", "items": objects}),
    };
    Ok(Some(match format {
        OutputFormat::Name => objects.iter().map(resource_name).collect::<Vec<_>>().join("\n"),
        OutputFormat::Json => serde_json::to_string_pretty(&value)
            .map_err(|error| PluginError::Other(format!("cannot write JSON: {error}")))?,
        OutputFormat::Yaml => serde_yaml::to_string(&value)
            .map_err(|error| PluginError::Other(format!("cannot write YAML: {error}")))?
            .trim_end()
            .to_string(),
        OutputFormat::Table | OutputFormat::Wide => return Ok(None),
    }))
}

fn is_machine(format: OutputFormat) -> bool {
    !matches!(format, OutputFormat::Table | OutputFormat::Wide)
}

fn resource_version(test: &Value) -> Option<String> {
    test["metadata"]["resourceVersion"].as_str().map(str::to_string)
}

/// What makes the detailed view worth printing again: the object, or its events (without their
/// ages, which move every second).
fn detail_key(test: &LocustTest, events: &Result<Vec<EventRow>, PluginError>) -> String {
    let events = match events {
        Ok(rows) => rows
            .iter()
            .map(|e| format!("{}|{}|{}|{}|{}", e.type_, e.reason, e.object, e.message, e.count))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(error) => error.to_string(),
    };
    format!("{:?}\n{events}", test.metadata.resource_version)
}

async fn one(
    cluster: &Cluster,
    name: &str,
    args: &StatusArgs,
    palette: Palette,
    interval: Duration,
) -> Result<u8, PluginError> {
    let out = Out;
    // On a terminal a watch redraws the view in place; in a log each view follows the last.
    let redraw = args.watch && std::io::stdout().is_terminal();
    let mut last_key: Option<String> = None;
    loop {
        let (key, text) = if is_machine(args.output) {
            // Exactly what the API server holds: no defaults added, no unknown field dropped.
            let test = cluster.get_test_raw(name).await?;
            let text = machine_output(std::slice::from_ref(&test), args.output, true)?.unwrap_or_default();
            (format!("{:?}", resource_version(&test)), text)
        } else {
            let test = cluster.get_test(name).await?;
            let events = cluster.recent_events(name, EVENTS).await;
            // Events only add to the view: without them (RBAC, say), still show the test.
            let why = match &events {
                Ok(_) => String::new(),
                Err(error) => error.to_string().lines().next().unwrap_or_default().to_string(),
            };
            let rows = match &events {
                Ok(rows) => Ok(rows.as_slice()),
                Err(_) => Err(why.as_str()),
            };
            let text = detail::detail(&test, rows, palette, Timestamp::now());
            (detail_key(&test, &events), text)
        };
        if last_key.as_ref() != Some(&key) {
            let separator = match (&last_key, redraw, args.output) {
                (None, _, _) => "",
                (Some(_), true, _) => "\x1b[2J\x1b[H",
                (Some(_), false, OutputFormat::Yaml) => "---\n",
                (Some(_), false, OutputFormat::Table | OutputFormat::Wide) => "\n",
                (Some(_), false, _) => "",
            };
            if !out.print(&format!("{separator}{text}"))? {
                return Ok(exit::OK);
            }
            last_key = Some(key);
        }
        if !args.watch {
            return Ok(exit::OK);
        }
        tokio::time::sleep(interval).await;
    }
}

fn identity(test: &LocustTest) -> (String, String) {
    (
        test.metadata.namespace.clone().unwrap_or_default(),
        test.metadata.name.clone().unwrap_or_default(),
    )
}

async fn many(
    cluster: &Cluster,
    all_namespaces: bool,
    args: &StatusArgs,
    palette: Palette,
    interval: Duration,
) -> Result<u8, PluginError> {
    let out = Out;
    let columns = table::Columns {
        namespace: all_namespaces,
        wide: args.output == OutputFormat::Wide,
    };
    let human = matches!(args.output, OutputFormat::Table | OutputFormat::Wide);
    let scope = if all_namespaces {
        "any namespace".to_string()
    } else {
        format!("namespace {}", cluster.namespace)
    };
    let mut seen: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    let mut first = true;
    let mut header_printed = false;
    loop {
        if !human {
            let tests = cluster.list_tests_raw(all_namespaces).await?;
            let identity = |t: &Value| {
                let field = |name: &str| t["metadata"][name].as_str().unwrap_or_default().to_string();
                (field("namespace"), field("name"))
            };
            let text = if args.watch {
                // A watch prints each changed object by itself, as `kubectl get -w -o json` does.
                let mut texts = Vec::new();
                for test in tests
                    .iter()
                    .filter(|t| seen.get(&identity(t)) != Some(&resource_version(t)))
                {
                    if let Some(text) = machine_output(std::slice::from_ref(test), args.output, true)? {
                        texts.push(if args.output == OutputFormat::Yaml {
                            format!("---\n{text}")
                        } else {
                            text
                        });
                    }
                }
                (!texts.is_empty()).then(|| texts.join("\n"))
            } else {
                machine_output(&tests, args.output, false)?.filter(|text| !text.is_empty())
            };
            if let Some(text) = text
                && !out.print(&text)?
            {
                return Ok(exit::OK);
            }
            if !args.watch {
                return Ok(exit::OK);
            }
            seen = tests.iter().map(|t| (identity(t), resource_version(t))).collect();
            tokio::time::sleep(interval).await;
            continue;
        }
        let tests = cluster.list_tests(all_namespaces).await?;
        // Like `kubectl get -w`: everything first, then only what changed.
        let changed: Vec<&LocustTest> = tests
            .iter()
            .filter(|t| seen.get(&identity(t)) != Some(&t.metadata.resource_version))
            .collect();
        if first && tests.is_empty() {
            eprintln!("No LocustTests found in {scope}.");
        }
        let text = {
            let now = Timestamp::now();
            let owned: Vec<LocustTest> = changed.iter().map(|t| (*t).clone()).collect();
            let lines = table::table_lines(&owned, columns, palette, now);
            let skip = usize::from(header_printed);
            header_printed |= !owned.is_empty();
            (!owned.is_empty()).then(|| lines[skip..].join("\n"))
        };
        if let Some(text) = text
            && !out.print(&text)?
        {
            return Ok(exit::OK);
        }
        if !args.watch {
            return Ok(exit::OK);
        }
        seen = tests
            .iter()
            .map(|t| (identity(t), t.metadata.resource_version.clone()))
            .collect();
        first = false;
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn object(name: &str) -> Value {
        json!({"apiVersion": "locust.io/v2", "kind": "LocustTest", "metadata": {"name": name}})
    }

    #[test]
    fn one_object_prints_as_stored_and_several_as_a_list() {
        let single = machine_output(&[object("a")], OutputFormat::Json, true)
            .unwrap()
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&single).unwrap(), object("a"));
        let list = machine_output(&[object("a"), object("b")], OutputFormat::Yaml, false)
            .unwrap()
            .unwrap();
        let list: Value = serde_yaml::from_str(&list).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(list["items"][1]["metadata"]["name"], "b");
        let empty = machine_output(&[], OutputFormat::Json, false).unwrap().unwrap();
        assert_eq!(serde_json::from_str::<Value>(&empty).unwrap()["items"], json!([]));
        let names = machine_output(&[object("a"), object("b")], OutputFormat::Name, false)
            .unwrap()
            .unwrap();
        assert_eq!(names, "locusttest.locust.io/a\nlocusttest.locust.io/b");
        assert!(
            machine_output(&[object("a")], OutputFormat::Wide, true)
                .unwrap()
                .is_none()
        );
    }
}
