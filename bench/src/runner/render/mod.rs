//! The report: markdown tables of the folded results, the server
//! scenarios first, then the client scenarios, then the targets.

pub(crate) mod cells;
mod clients;
mod servers;
mod targets;

use std::collections::HashMap;

use crate::runner::context::Context;
use crate::runner::render::clients::render_clients;
use crate::runner::render::servers::render_servers;
use crate::runner::render::targets::render_targets;
use crate::runner::results::Results;
use crate::runner::scenario::Which;

/// The report: a header and one markdown table per scenario.
pub(crate) fn render(
    context: &Context,
    wanted: &[Which],
    results: &HashMap<Which, Results>,
) -> String {
    let mut out = String::new();
    if context.selection.servers_work() {
        render_servers(&mut out, context, results);
    }
    if !context.selection.clients.is_empty() {
        render_clients(&mut out, context, results);
    }
    if context.selection.servers_work() || !context.selection.clients.is_empty() {
        render_targets(&mut out, wanted, &context.selection, results);
    }
    out
}
