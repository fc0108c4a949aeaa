//! The workers' handler without `--forward-to`: print each event as `listen` prints a
//! verified one, from its stored bytes.

use std::{
    future::Future,
    sync::{Arc, atomic::Ordering},
};

use webhook_inbox::{Job, Outcome};

use crate::{
    receiver::Receiver,
    render::{self, Outcome as Printed},
    senders,
};

/// A handler that prints each event and marks it done.
pub(crate) fn printer(
    receiver: Arc<Receiver>,
) -> impl Fn(Job) -> std::pin::Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync + 'static
{
    move |job: Job| {
        let receiver = Arc::clone(&receiver);
        Box::pin(async move {
            let scheme = job.scheme();
            match senders::of(scheme).summarize_stored(&job.stored()) {
                Ok(summary) => {
                    receiver.tally.events.fetch_add(1, Ordering::SeqCst);
                    render::print(
                        scheme,
                        &Printed::Accepted(std::slice::from_ref(&summary)),
                        receiver.json,
                    );
                    Outcome::Done
                }
                // Stored bytes that no longer parse will not parse on a retry either: the
                // event is kept, dead, for a redrive after an upgrade.
                Err(err) => Outcome::failed(format!("the stored event does not parse: {err}")),
            }
        })
    }
}
