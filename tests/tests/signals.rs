//! Fault handling fits into a host: a fault outside guest code still reaches the handler the
//! host installed before waot. In its own test binary, so that no other test installs waot's
//! handlers first.

use std::sync::atomic::{AtomicUsize, Ordering};
use waot::{Error, Linker, Store, TrapCode, Val};
use waot_compiler::CompileOptions;

static PAGE: AtomicUsize = AtomicUsize::new(0);
static HOST_HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn host_handler(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    HOST_HANDLED.fetch_add(1, Ordering::SeqCst);
    // SAFETY: make the page the host touched accessible, so the access succeeds when retried.
    unsafe {
        libc::mprotect(
            PAGE.load(Ordering::SeqCst) as *mut _,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
        )
    };
}

#[test]
fn faults_outside_guest_code_reach_the_hosts_handler() {
    // SAFETY: installing a handler and mapping an inaccessible page for this test.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = host_handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
        let page = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        PAGE.store(page as usize, Ordering::SeqCst);
    }
    let d = tempfile::tempdir().unwrap();
    let wat = r#"(module (memory 1) (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;
    let module = waot_tests::load_wat(d.path(), "m", wat, &CompileOptions::default());
    let mut store = Store::new();
    let inst = Linker::new().instantiate(&mut store, &module).unwrap();
    let load = store.get_func(inst, "load").unwrap();
    // waot's handlers are installed now, with the host's as the previous one.
    match store.call(load, &[Val::I32(1 << 20)]) {
        Err(Error::Trap(t)) => assert_eq!(t.code, Some(TrapCode::MemoryOutOfBounds)),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        HOST_HANDLED.load(Ordering::SeqCst),
        0,
        "a guest fault is not the host's"
    );
    let page = PAGE.load(Ordering::SeqCst) as *mut u32;
    // SAFETY: the first access faults; the host's handler makes the page writable.
    unsafe { std::ptr::write_volatile(page, 7) };
    assert_eq!(unsafe { std::ptr::read_volatile(page) }, 7);
    assert_eq!(HOST_HANDLED.load(Ordering::SeqCst), 1);
    assert_eq!(store.call(load, &[Val::I32(0)]).unwrap(), vec![Val::I32(0)]);
}
