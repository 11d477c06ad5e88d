//! CPU-time clocks for the benches, included by path (`#[path = "common/cpu_time.rs"]`).
//!
//! Criterion's default clock is the wall clock, which also counts time the OS gives to
//! other processes; on a shared machine that swamps the kernel being timed. These read
//! only this process's (or this thread's) own CPU time with `clock_gettime` (64-bit
//! Linux; elsewhere they read zero).
#![allow(dead_code)] // each bench uses the part it needs

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use std::time::Duration;

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn clock(id: i32) -> Duration {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` is a valid, writable `struct timespec` (two 64-bit fields on 64-bit
    // Linux) and the clock ids used here are constants the kernel always supports.
    let rc = unsafe { clock_gettime(id, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({id}) failed");
    Duration::new(ts.sec as u64, ts.nsec as u32)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn clock(_id: i32) -> Duration {
    Duration::ZERO
}

/// CPU time of this process, all threads (`CLOCK_PROCESS_CPUTIME_ID`).
pub fn process_cpu() -> Duration {
    clock(2)
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu() -> Duration {
    clock(3)
}

/// A criterion measurement: CPU time of this process (all threads).
pub struct CpuTime;

impl Measurement for CpuTime {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Self::Intermediate {
        process_cpu()
    }
    fn end(&self, start: Self::Intermediate) -> Self::Value {
        process_cpu() - start
    }
    fn add(&self, a: &Self::Value, b: &Self::Value) -> Self::Value {
        *a + *b
    }
    fn zero(&self) -> Self::Value {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Self::Value) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as for the wall clock, so its formatter applies.
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}
