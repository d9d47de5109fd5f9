//! `custom-server`: the bundled mon-server, plus a check kind and a channel kind from
//! other crates. `custom-server [-c mon.yaml]` takes the same arguments and
//! configuration as `mon-server`; its `mon.yaml` may also say `type: sip_options`
//! under `checks:` and `type: jsonl` under `alerting.channels`:
//!
//! ```yaml
//! checks:
//!   - { name: trunk, type: sip_options, address: "sip.example.net:5060" }
//! alerting:
//!   channels:
//!     - { name: audit, type: jsonl, path: /var/log/mon/pages.jsonl }
//! ```

fn main() -> std::process::ExitCode {
    let mut kinds = mon_core::Kinds::new();
    kinds.check_kind_of::<custom_check::SipOptionsConfig>(
        custom_check::KIND,
        custom_check::factory(),
    );
    kinds.channel_kind_of::<custom_notifier::JsonLinesConfig>(
        custom_notifier::KIND,
        custom_notifier::factory(),
    );
    mon_server::main_with(kinds)
}
