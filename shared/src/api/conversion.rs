//! v1 <-> v2 conversion (see conversion design in the module body).
