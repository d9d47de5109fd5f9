//! `mon-server`: the bundled monitoring server. `mon-server [-c mon.yaml] [--address-file FILE]`.

fn main() -> std::process::ExitCode {
    mon_server::main_with(mon_core::Kinds::new())
}
