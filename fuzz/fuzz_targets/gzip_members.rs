//! A large gzip file's members inflated on two cores (`backup::deep::gunzip` with sizes)
//! against the one-core reader: the same bytes, or an error of the same kind and message,
//! whatever the input and the round sizes (picked by the first two input bytes, small so that
//! an input spans many rounds). Seeds of several small members find the two-core path.
#![no_main]
use forgejo_gates::backup::deep::gunzip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[window, output], bytes)) = data.split_first_chunk::<2>() else {
        return;
    };
    let sizes = (64 + usize::from(window) * 16, 64 + usize::from(output) * 32);
    let one = gunzip(bytes, None).map_err(|e| (e.kind(), e.to_string()));
    let two = gunzip(bytes, Some(sizes)).map_err(|e| (e.kind(), e.to_string()));
    assert!(
        one == two,
        "sizes {sizes:?}: one core {:?}, two cores {:?}",
        one.as_ref().map(Vec::len),
        two.as_ref().map(Vec::len)
    );
});
