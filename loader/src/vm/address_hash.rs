//! Hashing of the runtime's own addresses (heap objects, chunks) and ids (canonical type ids,
//! handed out in order from 1): the keys are distinct aligned addresses or small integers, not
//! attacker-chosen strings, so SipHash's cost buys nothing.

/// Hashes an address by one multiplication of the address shifted right by `SHIFT` (its
/// alignment's bits, which are all zero), so that the low bits hash tables index by vary.
#[derive(Default)]
pub(crate) struct AddressHasher<const SHIFT: u32>(u64);

impl<const SHIFT: u32> std::hash::Hasher for AddressHasher<SHIFT> {
    fn finish(&self) -> u64 {
        // The product's high bits are its best mixed; hash tables index by the low ones.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (n >> SHIFT).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Builds `AddressHasher`s for a `HashMap` or `HashSet` of addresses aligned to `1 << SHIFT`.
pub(crate) type BuildAddressHasher<const SHIFT: u32> =
    std::hash::BuildHasherDefault<AddressHasher<SHIFT>>;
