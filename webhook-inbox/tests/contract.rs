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
