//! The live terminal UI: `state` (pure model and `update`), `view` (pure drawing), `app` (terminal
//! and event loop), `feed` (network on its own task, feeding a channel).
