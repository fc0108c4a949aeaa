//! The backend contract suite (`webhook_inbox::contract`) against the SQLite backend:
//! a fresh file in a temporary directory per case, a second backend on the same file
//! for the "other process" cases.

use std::future::Future;

use tempfile::TempDir;
use webhook_inbox::{Inbox, ManualClock, SqliteBackend, contract::Harness};

struct Sqlite {
    dir: TempDir,
}

impl Harness for Sqlite {
    type Backend = SqliteBackend;

    fn inbox(&self, clock: ManualClock) -> Inbox<SqliteBackend> {
        let backend = SqliteBackend::open(self.dir.path().join("inbox.db")).expect("open");
        Inbox::with_clock(backend, clock)
    }

    fn second(&self, clock: ManualClock) -> Inbox<SqliteBackend> {
        self.inbox(clock)
    }
}

fn run<Fut: Future<Output = ()>>(case: impl FnOnce(Sqlite) -> Fut) {
    let harness = Sqlite {
        dir: tempfile::tempdir().expect("temporary directory"),
    };
    webhook_inbox::contract::block_on(case(harness));
}

webhook_inbox::inbox_contract_tests!(run);

/// The same suite against the PostgreSQL backend, on a real server this test process
/// starts (and that stops when it ends): each case in a schema of its own, a second
/// backend with its own pool as the "other replica".
#[cfg(feature = "postgres")]
mod postgres {
    use std::{
        future::Future,
        sync::{
            OnceLock,
            atomic::{AtomicU32, Ordering},
        },
    };

    use webhook_inbox::{
        Inbox, ManualClock, PostgresBackend, contract::Harness, testing::PostgresServer,
    };

    fn server() -> &'static PostgresServer {
        static SERVER: OnceLock<PostgresServer> = OnceLock::new();
        SERVER.get_or_init(PostgresServer::start)
    }

    struct Postgres {
        first: PostgresBackend,
        second: PostgresBackend,
    }

    impl Postgres {
        async fn connect(url: &str) -> Self {
            static CASES: AtomicU32 = AtomicU32::new(0);
            let schema = format!(
                "contract_{}_{}",
                std::process::id(),
                CASES.fetch_add(1, Ordering::Relaxed)
            );
            let open = || {
                PostgresBackend::builder(url)
                    .schema(schema.clone())
                    .connect()
            };
            // Two replicas migrating one new schema at once: the advisory lock makes
            // one of them create it.
            let (first, second) = tokio::join!(open(), open());
            Self {
                first: first.expect("connect"),
                second: second.expect("connect"),
            }
        }
    }

    impl Harness for Postgres {
        type Backend = PostgresBackend;

        fn inbox(&self, clock: ManualClock) -> Inbox<PostgresBackend> {
            Inbox::with_clock(self.first.clone(), clock)
        }

        fn second(&self, clock: ManualClock) -> Inbox<PostgresBackend> {
            Inbox::with_clock(self.second.clone(), clock)
        }
    }

    fn run<Fut: Future<Output = ()>>(case: impl FnOnce(Postgres) -> Fut) {
        let url = server().url("postgres");
        webhook_inbox::contract::block_on(async move {
            let harness = Postgres::connect(&url).await;
            case(harness).await;
        });
    }

    webhook_inbox::inbox_contract_tests!(run);
}
