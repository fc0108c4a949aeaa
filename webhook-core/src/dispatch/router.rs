//! [`EventRouter`]: handlers chosen by event type, exact name or family prefix.

use std::{
    collections::HashMap,
    fmt,
    future::{self, Future},
    pin::Pin,
    sync::Arc,
};

use super::Event;

/// What [`EventRouter::dispatch`] returns: the handler's future, boxed so that every
/// route has one type. It is `Send` and `'static`, so an adapter can spawn it.
pub type Handled<E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send>>;

type Handler<Ev, E> = Arc<dyn Fn(Ev) -> Handled<E> + Send + Sync>;

/// Which route an event type takes (see [`EventRouter::route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'r> {
    /// A handler registered for exactly this type.
    Exact(&'r str),
    /// The handler of the longest registered prefix the type starts with.
    Prefix(&'r str),
    /// The [`otherwise`](EventRouter::otherwise) handler.
    Otherwise,
    /// No handler: the event is acknowledged without running anything.
    Unhandled,
}

/// Routes events to handlers by their type: an exact name ([`on`](Self::on)), a family
/// prefix ([`on_prefix`](Self::on_prefix), or a pattern ending in `*`), and a fallback
/// ([`otherwise`](Self::otherwise)).
///
/// # Which handler runs
///
/// 1. the handler registered for the exact type, if any;
/// 2. else the handler of the **longest** matching prefix, whatever the order the
///    prefixes were registered in (`on_prefix("auth.")` and `on_prefix("auth.fail")`:
///    `auth.failure` goes to the second, `auth.success` to the first);
/// 3. else the `otherwise` handler;
/// 4. else nothing runs and the event counts as handled (`Ok(())`), logged at `debug`:
///    a sender adding a new event type must not make the receiver fail. Give an
///    `otherwise` handler that returns `Err` to refuse unknown types instead.
///
/// Prefixes match the type's text as it is (`on_prefix("activity_log.")` for
/// Mailtrap's audit events, `on("user.*")` for WildDuck's user events). Registering
/// the same name or prefix twice, or a `*` anywhere but at the end, is a programming
/// error and panics at start-up, as axum's router does for overlapping routes.
///
/// Handlers take the event by value and return a future of `Result<(), E>`: a closure
/// returning an `async` block, or an `async fn`. Every handler of one router has the
/// same error type `E`. Handlers and their futures are `Send`, so one router serves
/// every worker of a multi-threaded runtime and its futures can be spawned. The router
/// is cheap to clone (handlers are shared), and is named `EventRouter` so that it does
/// not clash with the web framework's `Router`.
///
/// ```
/// use webhook_core::{dispatch::{EventRouter, Route}, senders::wildduck::WildDuckPayload};
///
/// async fn created(event: WildDuckPayload<'static>) -> Result<(), String> {
///     println!("new user {:?}", event.username);
///     Ok(())
/// }
///
/// let router = EventRouter::new()
///     .on("user.created", created)
///     .on("user.*", |_event: WildDuckPayload<'static>| async { Ok(()) })
///     .on_prefix("mfa.", |_event| async { Err("not yet".to_owned()) });
///
/// assert_eq!(router.route("user.created"), Route::Exact("user.created"));
/// assert_eq!(router.route("user.password.changed"), Route::Prefix("user."));
/// assert_eq!(router.route("forward added"), Route::Unhandled);
///
/// let event: WildDuckPayload<'static> = serde_json::from_str(
///     r#"{"id":"64d1f0c2a3b4c5d6e7f80912:1","time":1691480000000,"ev":"mfa.totp.enabled","user":"64d1f0c2a3b4c5d6e7f80913"}"#,
/// )?;
/// assert_eq!(futures::executor::block_on(router.dispatch(event)), Err("not yet".to_owned()));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub struct EventRouter<Ev, E> {
    exact: HashMap<Box<str>, Handler<Ev, E>>,
    /// Longest first, so the first match is the longest.
    prefixes: Vec<(Box<str>, Handler<Ev, E>)>,
    otherwise: Option<Handler<Ev, E>>,
}

impl<Ev: Event, E: Send + 'static> EventRouter<Ev, E> {
    /// A router with no routes: every event is acknowledged without running anything.
    pub fn new() -> Self {
        Self {
            exact: HashMap::new(),
            prefixes: Vec::new(),
            otherwise: None,
        }
    }

    /// Routes events of type `pattern` to `handler`. A pattern ending in `*` is a
    /// prefix: `on("auth.*", h)` is `on_prefix("auth.", h)`, and `on("*", h)` matches
    /// every type no other route takes.
    ///
    /// # Panics
    ///
    /// When `pattern` is already registered, or has a `*` before its end.
    pub fn on<F, Fut>(mut self, pattern: &str, handler: F) -> Self
    where
        F: Fn(Ev) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        let (name, wildcard) = match pattern.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (pattern, false),
        };
        assert!(
            !name.contains('*'),
            "EventRouter: `*` may only end a pattern (got {pattern:?})"
        );
        if wildcard {
            return self.on_prefix(name, handler);
        }
        let previous = self.exact.insert(name.into(), boxed(handler));
        assert!(
            previous.is_none(),
            "EventRouter: event type {name:?} is registered twice"
        );
        self
    }

    /// Routes every type starting with `prefix` (a family: `delivery.`, `auth.`,
    /// `activity_log.`) to `handler`, unless an exact route or a longer prefix takes it.
    ///
    /// # Panics
    ///
    /// When `prefix` is already registered.
    pub fn on_prefix<F, Fut>(mut self, prefix: &str, handler: F) -> Self
    where
        F: Fn(Ev) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        assert!(
            self.prefixes.iter().all(|(p, _)| &**p != prefix),
            "EventRouter: prefix {prefix:?} is registered twice"
        );
        let at = self
            .prefixes
            .iter()
            .position(|(p, _)| p.len() < prefix.len())
            .unwrap_or(self.prefixes.len());
        self.prefixes.insert(at, (prefix.into(), boxed(handler)));
        self
    }

    /// Runs `handler` for the events no other route takes.
    ///
    /// # Panics
    ///
    /// When an `otherwise` handler is already set.
    pub fn otherwise<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Ev) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
    {
        assert!(
            self.otherwise.is_none(),
            "EventRouter: `otherwise` is set twice"
        );
        self.otherwise = Some(boxed(handler));
        self
    }

    /// Which route an event of `event_type` takes.
    pub fn route(&self, event_type: &str) -> Route<'_> {
        self.find(event_type).0
    }

    /// Runs the handler `event`'s type routes to, and returns its future (already
    /// `Ok(())` when no route takes it).
    pub fn dispatch(&self, event: Ev) -> Handled<E> {
        let (route, handler) = self.find(event.event_type());
        match handler {
            Some(handler) => handler(event),
            None => {
                tracing::debug!(
                    event_type = event.event_type(),
                    ?route,
                    "no route for this event type: acknowledged without a handler"
                );
                Box::pin(future::ready(Ok(())))
            }
        }
    }

    fn find(&self, event_type: &str) -> (Route<'_>, Option<&Handler<Ev, E>>) {
        if let Some((name, handler)) = self.exact.get_key_value(event_type) {
            return (Route::Exact(name), Some(handler));
        }
        if let Some((prefix, handler)) = self
            .prefixes
            .iter()
            .find(|(prefix, _)| event_type.starts_with(&**prefix))
        {
            return (Route::Prefix(prefix), Some(handler));
        }
        match &self.otherwise {
            Some(handler) => (Route::Otherwise, Some(handler)),
            None => (Route::Unhandled, None),
        }
    }
}

fn boxed<Ev, E, F, Fut>(handler: F) -> Handler<Ev, E>
where
    F: Fn(Ev) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    Arc::new(move |event| Box::pin(handler(event)) as Handled<E>)
}

impl<Ev: Event, E: Send + 'static> Default for EventRouter<Ev, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Ev, E> Clone for EventRouter<Ev, E> {
    fn clone(&self) -> Self {
        Self {
            exact: self.exact.clone(),
            prefixes: self.prefixes.clone(),
            otherwise: self.otherwise.clone(),
        }
    }
}

impl<Ev, E> fmt::Debug for EventRouter<Ev, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut exact: Vec<&str> = self.exact.keys().map(|k| &**k).collect();
        exact.sort_unstable();
        f.debug_struct("EventRouter")
            .field("exact", &exact)
            .field(
                "prefixes",
                &self.prefixes.iter().map(|(p, _)| &**p).collect::<Vec<_>>(),
            )
            .field("otherwise", &self.otherwise.is_some())
            .finish()
    }
}
