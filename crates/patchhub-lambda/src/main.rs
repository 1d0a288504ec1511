//! `bootstrap`, the patchhub Lambda function. Thin: it parses the event and calls the same
//! pipeline as `patchhub sync`. (The handler arrives with the Lambda issue.)

fn main() {
    eprintln!("bootstrap: the patchhub Lambda handler is not built yet");
    std::process::exit(2);
}
