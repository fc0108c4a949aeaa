//! The `LISTEN` side of waking workers: one connection per backend subscribed to the
//! inbox's channel; each notification (sent in the transaction that made work due, so
//! delivered at its commit) moves the work generation that idle workers wait on.
//!
//! When the connection is lost the generation moves too (a notification may have been
//! missed: the workers look), and the listener reconnects with a growing pause. Workers
//! poll at their poll interval in any case, so an outage of the listener only slows
//! the wake-up down to that interval.

use std::{sync::Arc, time::Duration};

use sqlx::{PgPool, postgres::PgListener};
use tokio::sync::watch;

const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

pub(crate) async fn run(pool: PgPool, channel: String, work: Arc<watch::Sender<u64>>) {
    let wake = || work.send_modify(|generation| *generation += 1);
    let mut pause = FIRST_PAUSE;
    loop {
        match subscribe(&pool, &channel).await {
            Ok(mut listener) => {
                // Anything queued while unsubscribed was not heard.
                wake();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(_)) => {
                            pause = FIRST_PAUSE;
                            wake();
                        }
                        // Lost and reconnected (sqlx resubscribes): look again.
                        Ok(None) => wake(),
                        Err(err) => {
                            tracing::warn!(error = %err, "the inbox's LISTEN connection failed");
                            break;
                        }
                    }
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, "cannot LISTEN for inbox work yet");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

async fn subscribe(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
