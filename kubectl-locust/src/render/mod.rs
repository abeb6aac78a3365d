//! Pure rendering: from objects to text, with a test beside each renderer.

pub mod compare;
pub mod detail;
pub mod events;
pub mod progress;
pub mod table;
pub mod thresholds;
