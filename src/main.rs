//! The `mlprep` command: wiring only. Each subcommand lives in `cli/`.

mod cli;

/// The allocator datafusion-cli uses: glibc's arenas grew RSS run after run of COPYs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::tune_allocator();
    cli::run()
}
