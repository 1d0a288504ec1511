pub use crate::report_cmd::{ReportArgs, run};
