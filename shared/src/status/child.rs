//! The three objects the operator creates for a test.

use crate::naming;

/// One of the three objects the operator creates for a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Child {
    /// The `<name>-master` Service.
    Service,
    /// The `<name>-master` Job.
    MasterJob,
    /// The `<name>-worker` Job.
    WorkerJob,
}

impl Child {
    /// All children in creation order.
    pub const ALL: [Child; 3] = [Child::Service, Child::MasterJob, Child::WorkerJob];

    /// `Service` or `Job`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Service => "Service",
            Self::MasterJob | Self::WorkerJob => "Job",
        }
    }

    /// How events name the child (upstream's wording).
    pub fn label(self) -> &'static str {
        match self {
            Self::Service => "Master Service",
            Self::MasterJob => "Master Job",
            Self::WorkerJob => "Worker Job",
        }
    }

    /// The child's object name for test `test_name`.
    pub fn name(self, test_name: &str) -> String {
        match self {
            Self::Service | Self::MasterJob => naming::master_name(test_name),
            Self::WorkerJob => naming::worker_name(test_name),
        }
    }
}
