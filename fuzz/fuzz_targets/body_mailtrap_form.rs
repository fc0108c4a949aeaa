//! Mailtrap's body parser (`MailtrapEvents`) for a body declared `MediaType::FormUrlEncoded`.
//! The invariants are in `hookwise_fuzz::mailtrap_check`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use webhook_core::MediaType;

fuzz_target!(|data: &[u8]| {
    hookwise_fuzz::mailtrap_check(data, MediaType::FormUrlEncoded);
});
