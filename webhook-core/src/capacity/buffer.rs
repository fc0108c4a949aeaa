//! [`BodyBuffer`]: a request body being read, within the verifier's limit and the
//! server's [`BodyBudget`]. The adapters feed it the chunks their framework yields; it
//! owns the size checks and the accounting, so both adapters refuse and count alike.

use crate::{Rejection, Verifier, VerifyError};

use super::{BodyBudget, BodyReservation, ReservationHold};

/// A body being read: refuses it before reading when its declared length is over the
/// limit (413) or does not fit in the budget (503), refuses it while reading once it
/// passes the limit (413), and hands over the bytes with their reservation.
///
/// ```
/// use webhook_core::{Scheme, Secret, Verifier, capacity::{BodyBudget, BodyBuffer}};
///
/// let verifier = Verifier::builder(Scheme::Stalwart)
///     .secret(Secret::new("k"))
///     .max_body_bytes(1024)
///     .build()?;
/// let budget = BodyBudget::new(4096);
/// let mut buffer = BodyBuffer::for_request(&verifier, Some(11), &budget)?;
/// buffer.extend(b"hello ")?;
/// buffer.extend(b"world")?;
/// let body = buffer.finish();
/// assert_eq!(body.as_ref(), b"hello world");
/// assert_eq!(budget.in_use(), 11);
/// drop(body);
/// assert_eq!(budget.in_use(), 0);
///
/// let too_large = BodyBuffer::for_request(&verifier, Some(2048), &budget).unwrap_err();
/// assert_eq!(too_large.status(), 413);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BodyBuffer {
    bytes: Vec<u8>,
    limit: usize,
    reservation: BodyReservation,
}

impl BodyBuffer {
    /// Starts reading a body that declared `declared` bytes (`Content-Length`; `None`
    /// when chunked), for `verifier`'s limit, reserving from `budget` what the body can
    /// take ([`BodyBudget::reserve_body`]).
    pub fn for_request(
        verifier: &Verifier,
        declared: Option<u64>,
        budget: &BodyBudget,
    ) -> Result<Self, Rejection> {
        verifier.check_declared_length(declared)?;
        let limit = verifier.max_body_bytes();
        let reservation = budget.reserve_body(declared, limit)?;
        let capacity = if declared.is_some() {
            reservation.bytes()
        } else {
            0
        };
        Ok(Self {
            bytes: Vec::with_capacity(capacity),
            limit,
            reservation,
        })
    }

    /// Appends a chunk, or refuses the body once it passes the limit.
    pub fn extend(&mut self, chunk: &[u8]) -> Result<(), VerifyError> {
        let len = self.bytes.len();
        if len + chunk.len() > self.limit {
            return Err(VerifyError::BodyTooLarge {
                limit: self.limit,
                declared: None,
            });
        }
        if self.bytes.capacity() - len < chunk.len() {
            // Doubling, but never past the limit, so the reservation covers the allocation.
            let wanted = (len + chunk.len())
                .max(self.bytes.capacity() * 2)
                .min(self.limit);
            self.bytes.reserve_exact(wanted - len);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes received so far.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing has been received yet.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The whole body, still counted against the budget (as much as its allocation
    /// holds) until it is dropped. Adapters wrap it with `Bytes::from_owner`.
    pub fn finish(mut self) -> ReservedBody {
        self.reservation.shrink_to(self.bytes.capacity());
        ReservedBody {
            bytes: self.bytes,
            reservation: ReservationHold::new(self.reservation),
        }
    }
}

/// A body's bytes and their share of the [`BodyBudget`], given back once this and every
/// [`hold`](Self::hold) taken on it are dropped.
#[derive(Debug)]
pub struct ReservedBody {
    bytes: Vec<u8>,
    reservation: ReservationHold,
}

impl ReservedBody {
    /// A hold on the body's reservation that outlives its bytes: the adapters keep it
    /// in the request's [`RequestHolds`](super::RequestHolds), so the payload parsed
    /// from the body stays counted until the request is answered.
    pub fn hold(&self) -> ReservationHold {
        self.reservation.clone()
    }
}

impl AsRef<[u8]> for ReservedBody {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scheme;

    fn verifier(limit: usize) -> Verifier {
        Verifier::builder(Scheme::Stalwart)
            .secret(crate::Secret::new("k"))
            .max_body_bytes(limit)
            .build()
            .unwrap()
    }

    #[test]
    fn a_chunked_body_reserves_the_limit_then_keeps_what_it_holds() {
        let budget = BodyBudget::new(1 << 20);
        let mut buffer = BodyBuffer::for_request(&verifier(1000), None, &budget).unwrap();
        assert_eq!(budget.in_use(), 1000);
        for _ in 0..3 {
            buffer.extend(&[b'x'; 100]).unwrap();
        }
        let body = buffer.finish();
        assert_eq!(body.as_ref().len(), 300);
        assert!(
            (300..=1000).contains(&budget.in_use()),
            "{}",
            budget.in_use()
        );
        drop(body);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_chunked_body_past_the_limit_is_refused_and_its_bytes_given_back() {
        let budget = BodyBudget::new(1 << 20);
        let mut buffer = BodyBuffer::for_request(&verifier(250), None, &budget).unwrap();
        buffer.extend(&[b'x'; 200]).unwrap();
        let err = buffer.extend(&[b'x'; 51]).unwrap_err();
        assert_eq!(err.code(), "body_too_large");
        assert_eq!(buffer.len(), 200);
        drop(buffer);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_hold_keeps_the_bytes_counted_after_the_body_is_dropped() {
        let budget = BodyBudget::new(1 << 20);
        let mut buffer = BodyBuffer::for_request(&verifier(1000), Some(500), &budget).unwrap();
        buffer.extend(&[b'x'; 500]).unwrap();
        let body = buffer.finish();
        let request = super::super::RequestHolds::new();
        request.keep(body.hold());
        drop(body);
        assert_eq!((budget.in_use(), request.bytes()), (500, 500));
        drop(request);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_body_that_does_not_fit_is_refused_before_reading() {
        let budget = BodyBudget::new(100);
        let _held = budget.reserve(60).unwrap();
        let refused = BodyBuffer::for_request(&verifier(1000), Some(50), &budget).unwrap_err();
        assert_eq!(
            (refused.status().as_u16(), refused.code()),
            (503, "receiver_busy")
        );
        assert!(BodyBuffer::for_request(&verifier(1000), Some(40), &budget).is_ok());
    }
}
