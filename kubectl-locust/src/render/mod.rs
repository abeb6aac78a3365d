//! Pure rendering: from objects to text.
