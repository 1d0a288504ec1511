//! Logs as Lambda wants them: JSON lines when the function's log format is JSON
//! (`AWS_LAMBDA_LOG_FORMAT=json`), plain lines otherwise, at the level Lambda passes in
//! `AWS_LAMBDA_LOG_LEVEL` (or as `RUST_LOG` says). No timestamps in plain lines: CloudWatch adds them.

use tracing_subscriber::EnvFilter;

/// The filter for a Lambda log level (`TRACE` … `FATAL`): that level for patchhub's own crates,
/// warnings from everything else (the SDK is chatty at INFO).
pub fn directives(lambda_level: Option<&str>) -> String {
    let level = match lambda_level
        .map(|l| l.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("trace") => "trace",
        Some("debug") => "debug",
        Some("warn") => "warn",
        Some("error" | "fatal") => "error",
        _ => "info",
    };
    format!(
        "warn,bootstrap={level},patchhub_lambda={level},patchhub_aws={level},patchhub_core={level}"
    )
}

/// Installs the subscriber (once; later calls are ignored).
pub fn init() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        EnvFilter::new(directives(
            std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        ))
    });
    let base = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .with_target(false);
    let _ = if json {
        base.json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    } else {
        base.without_time().try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_levels_map_to_filters() {
        assert!(directives(None).contains("patchhub_aws=info"));
        assert!(directives(Some("DEBUG")).contains("patchhub_lambda=debug"));
        assert!(directives(Some("FATAL")).contains("patchhub_core=error"));
        assert!(
            directives(Some("DEBUG")).starts_with("warn,"),
            "the SDK stays at warn"
        );
    }
}
