//! The behaviours that test ww's limits: `alloc MIB`, `hold MIB` and `spin`.

use futures::io::{copy, sink};
use wetware_guest::{stdio, Error};

/// Allocates `mib` MiB, touching every page so it is really used, then prints
/// `allocated N MiB`. Past ww's memory limit the allocation traps before it returns.
pub async fn alloc(mib: u32) -> Result<u8, Error> {
    let kept = allocate(mib);
    let mut out = stdio::stdout();
    out.write_line(&format!(
        "allocated {mib} MiB ({} pages touched)",
        touched(&kept)
    ))
    .await?;
    Ok(0)
}

/// Allocates and touches `mib` MiB as [`alloc`] does, prints `holding N MiB`, then keeps the
/// memory until stdin ends.
pub async fn hold(mib: u32) -> Result<u8, Error> {
    let kept = allocate(mib);
    let mut out = stdio::stdout();
    out.write_line(&format!("holding {mib} MiB")).await?;
    copy(stdio::stdin(), &mut sink()).await?;
    Ok(if touched(&kept) == mib as usize * 256 {
        0
    } else {
        1
    })
}

/// `mib` blocks of 1 MiB, each of their 4 KiB pages written.
fn allocate(mib: u32) -> Vec<Vec<u8>> {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for _ in 0..mib {
        let mut block = vec![0u8; 1 << 20];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        kept.push(block);
    }
    kept
}

/// How many pages of `kept` were written.
fn touched(kept: &[Vec<u8>]) -> usize {
    kept.iter()
        .map(|b| b.iter().filter(|&&x| x == 1).count())
        .sum()
}

/// Prints `spinning`, then computes forever without calling the host.
pub async fn spin() -> Result<u8, Error> {
    let mut out = stdio::stdout();
    out.write_line("spinning").await?;
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}
