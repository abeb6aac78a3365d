//! `kubectl locust status [NAME]`: a table of tests, or one test in detail; `-o` for machines,
//! `-w` to follow changes.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use serde_json::Value;
use shared::api::v2::LocustTest;

use crate::cli::{GlobalArgs, OutputFormat, StatusArgs, exit};
use crate::client::Cluster;
use crate::commands::run::objects;
use crate::commands::run::wait::{POLL_INTERVAL_ENV, poll_interval};
use crate::error::PluginError;
use crate::output::Palette;
use crate::render::{detail, table};

const EVENTS: usize = 10;

pub async fn execute(global: &GlobalArgs, args: StatusArgs) -> Result<u8, PluginError> {
    let cluster = Cluster::connect(global).await?;
    let palette = Palette::new(global.color);
    let interval = poll_interval(std::env::var(POLL_INTERVAL_ENV).ok().as_deref())?;
    let watching = async {
        match &args.name {
            Some(name) => one(&cluster, name, &args, palette, interval).await,
            None => many(&cluster, global.all_namespaces, &args, palette, interval).await,
        }
    };
    tokio::select! {
        result = watching => result,
        // Ctrl-C ends a watch; that is how it is meant to stop.
        _ = tokio::signal::ctrl_c(), if args.watch => Ok(exit::OK),
    }
}

fn machine_output(values: &[Value], format: OutputFormat, list: bool) -> Result<Option<String>, PluginError> {
    Ok(match format {
        OutputFormat::Name => Some(values.iter().map(objects::resource_name).collect::<Vec<_>>().join("\n")),
        OutputFormat::Json | OutputFormat::Yaml => {
            let value = if list {
                serde_json::json!({"apiVersion": "v1", "kind": "List", "items": values})
            } else {
                values.first().cloned().unwrap_or(Value::Null)
            };
            Some(match format {
                OutputFormat::Json => serde_json::to_string_pretty(&value)
                    .map_err(|error| PluginError::Other(format!("cannot write JSON: {error}")))?,
                _ => serde_yaml::to_string(&value)
                    .map_err(|error| PluginError::Other(format!("cannot write YAML: {error}")))?
                    .trim_end()
                    .to_string(),
            })
        }
        OutputFormat::Table | OutputFormat::Wide => None,
    })
}

async fn one(
    cluster: &Cluster,
    name: &str,
    args: &StatusArgs,
    palette: Palette,
    interval: std::time::Duration,
) -> Result<u8, PluginError> {
    let mut last: Option<String> = None;
    loop {
        let test = cluster.get_test(name).await?;
        let shown = match machine_output(&[objects::to_value(&test)?], args.output, false)? {
            Some(text) => text,
            None => {
                let events = cluster.recent_events(name, EVENTS).await.unwrap_or_default();
                detail::detail(&test, &events, palette, Timestamp::now())
            }
        };
        // Ages move every second; print again only when the object or its events changed.
        let key = format!(
            "{:?}{}",
            test.metadata.resource_version,
            shown.lines().filter(|l| l.contains(':')).count()
        );
        if last.as_deref() != Some(key.as_str()) {
            if last.is_some() {
                println!();
            }
            println!("{shown}");
            last = Some(key);
        }
        if !args.watch {
            return Ok(exit::OK);
        }
        tokio::time::sleep(interval).await;
    }
}

async fn many(
    cluster: &Cluster,
    all_namespaces: bool,
    args: &StatusArgs,
    palette: Palette,
    interval: std::time::Duration,
) -> Result<u8, PluginError> {
    let columns = table::Columns {
        namespace: all_namespaces,
        wide: args.output == OutputFormat::Wide,
    };
    let mut seen: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
    let mut header_printed = false;
    loop {
        let tests = cluster.list_tests(all_namespaces).await?;
        let values = tests.iter().map(objects::to_value).collect::<Result<Vec<_>, _>>()?;
        if let Some(text) = machine_output(&values, args.output, true)? {
            if !text.is_empty() {
                println!("{text}");
            }
        } else if !header_printed {
            if tests.is_empty() && !args.watch {
                let scope = if all_namespaces {
                    "any namespace".to_string()
                } else {
                    format!("namespace {}", cluster.namespace)
                };
                eprintln!("No LocustTests found in {scope}.");
                return Ok(exit::OK);
            }
            println!("{}", table::table(&tests, columns, palette, Timestamp::now()));
            header_printed = true;
        } else {
            // Like `kubectl get -w`: a row per changed test, no header again.
            let changed: Vec<LocustTest> = tests
                .iter()
                .filter(|t| seen.get(&key(t)) != Some(&t.metadata.resource_version))
                .cloned()
                .collect();
            if !changed.is_empty() {
                let text = table::table(&changed, columns, palette, Timestamp::now());
                for line in text.lines().skip(1) {
                    println!("{line}");
                }
            }
        }
        seen = tests
            .iter()
            .map(|t| (key(t), t.metadata.resource_version.clone()))
            .collect();
        if !args.watch {
            return Ok(exit::OK);
        }
        tokio::time::sleep(interval).await;
    }
}

fn key(test: &LocustTest) -> (String, String) {
    (
        test.metadata.namespace.clone().unwrap_or_default(),
        test.metadata.name.clone().unwrap_or_default(),
    )
}
