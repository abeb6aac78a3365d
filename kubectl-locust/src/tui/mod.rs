//! The live terminal UI: `state` (model and pure `update`), `view` (pure drawing), `app` (terminal
//! and event loop), `feed` (cluster reads on their own task, feeding a channel).

pub mod app;
pub mod feed;
pub mod state;
pub mod view;
