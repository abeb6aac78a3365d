//! `kubectl locust run`: submit a test built from a locustfile or read from a manifest, print
//! what would be created (`--dry-run`), follow it to its end (`--wait`, `--tui`), or run it on
//! this machine (`--local`).

pub mod input;
pub mod local;
pub mod objects;
pub mod submit;
pub mod wait;

use crate::cli::{GlobalArgs, OutputFormat, RunArgs};
use crate::client::Cluster;
use crate::error::PluginError;
use crate::exit;
use crate::output::Palette;
use crate::render::progress;

pub async fn execute(global: &GlobalArgs, args: RunArgs) -> Result<u8, PluginError> {
    if args.local {
        return local::execute(global, &args).await;
    }
    check_combinations(&args)?;
    if args.dry_run {
        return dry_run(global, &args);
    }

    let mut cluster = Cluster::connect(global).await?;
    let prepared = input::prepare(&args, &cluster.namespace, global.namespace.is_some())?;
    for note in &prepared.notes {
        eprintln!("note: {note}");
    }
    let submission = prepared.submission;
    if let Some(namespace) = &submission.test.metadata.namespace {
        // A manifest may name its own namespace.
        cluster.namespace.clone_from(namespace);
    }
    let created = submit::create(&cluster, &submission).await?;
    let palette = Palette::new(global.color);
    print_created(&created, args.output)?;
    for warning in &created.warnings {
        eprintln!("{} {warning}", palette.yellow("warning:"));
    }

    let name = created.test.metadata.name.clone().unwrap_or_default();
    let namespace = cluster.namespace.clone();
    if args.tui {
        return crate::commands::tui::follow(&cluster, &name, args.timeout).await;
    }
    if args.wait {
        return wait::follow(&cluster, &name, args.timeout, palette).await;
    }
    if args.output.is_none() {
        eprintln!("next: {}", progress::next_steps(&name, &namespace));
    }
    Ok(exit::OK)
}

/// Flags that mean nothing together, said before anything is read or sent.
fn check_combinations(args: &RunArgs) -> Result<(), PluginError> {
    crate::tui::app::require_terminal(args.tui)?;
    if args.dry_run && args.wait {
        return Err(PluginError::Usage(
            "--wait follows a created test; --dry-run creates none: drop one of them".into(),
        ));
    }
    if args.timeout.is_some() && !args.wait && !args.tui {
        return Err(PluginError::Usage(
            "--timeout limits how long --wait or --tui follow the test; add --wait".into(),
        ));
    }
    if let Some(format @ (OutputFormat::Table | OutputFormat::Wide)) = args.output {
        return Err(objects::unsupported(format));
    }
    Ok(())
}

/// Prints what would be created; reads no cluster (a kubeconfig only for its namespace).
fn dry_run(global: &GlobalArgs, args: &RunArgs) -> Result<u8, PluginError> {
    let namespace = input::dry_run_namespace(global);
    let prepared = input::prepare(args, &namespace, global.namespace.is_some())?;
    for note in &prepared.notes {
        eprintln!("note: {note}");
    }
    let objects = objects::submission_objects(&prepared.submission)?;
    print!("{}", objects::render(&objects, args.output)?);
    Ok(exit::OK)
}

/// `configmap/demo-files created` lines as kubectl prints them, or the created objects in `-o`.
fn print_created(created: &submit::Created, format: Option<OutputFormat>) -> Result<(), PluginError> {
    let mut values = Vec::new();
    for config_map in &created.config_maps {
        values.push(objects::to_value(config_map)?);
    }
    values.push(objects::to_value(&created.test)?);
    match format {
        None => {
            for value in &values {
                println!("{} created", objects::resource_name(value));
            }
        }
        Some(format) => print!("{}", objects::render(&values, Some(format))?),
    }
    Ok(())
}
