//! The behaviours that test ww's limits: `alloc MIB` and `spin`.

use wetware_guest::{stdio, Error};

/// Allocates `mib` MiB, touching every page so it is really used, then prints
/// `allocated N MiB`. Past ww's memory limit the allocation traps before it returns.
pub async fn alloc(mib: u32) -> Result<u8, Error> {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for _ in 0..mib {
        let mut block = vec![0u8; 1 << 20];
        for page in block.chunks_mut(4096) {
            page[0] = 1;
        }
        kept.push(block);
    }
    let total: usize = kept
        .iter()
        .map(|b| b.iter().filter(|&&x| x == 1).count())
        .sum();
    let mut out = stdio::stdout();
    out.write_line(&format!("allocated {mib} MiB ({total} pages touched)"))
        .await?;
    Ok(0)
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
