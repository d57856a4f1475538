//! Guest memory as the WASI layer sees it: a byte slice with bounds-checked access. Both the
//! AOT path and an interpreter hand it their linear memory, so one implementation serves both.
//! Every pointer from the guest is checked: out of bounds is `EFAULT`, never a host access.

use super::errno::{self, Errno};

pub struct GuestMemory<'a> {
    bytes: &'a mut [u8],
}

pub type Result<T> = std::result::Result<T, Errno>;

impl<'a> GuestMemory<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        GuestMemory { bytes }
    }

    fn range(&self, ptr: u32, len: u32) -> Result<std::ops::Range<usize>> {
        let end = ptr as u64 + len as u64;
        if end > self.bytes.len() as u64 {
            return Err(errno::FAULT);
        }
        Ok(ptr as usize..end as usize)
    }

    pub fn slice(&self, ptr: u32, len: u32) -> Result<&[u8]> {
        let r = self.range(ptr, len)?;
        Ok(&self.bytes[r])
    }

    pub fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8]> {
        let r = self.range(ptr, len)?;
        Ok(&mut self.bytes[r])
    }

    /// The address of `len` bytes at `ptr`, for passing guest buffers to system calls.
    pub fn host_ptr(&mut self, ptr: u32, len: u32) -> Result<*mut u8> {
        Ok(self.slice_mut(ptr, len)?.as_mut_ptr())
    }

    pub fn read_u32(&self, ptr: u32) -> Result<u32> {
        Ok(u32::from_le_bytes(self.slice(ptr, 4)?.try_into().unwrap()))
    }

    pub fn read_u64(&self, ptr: u32) -> Result<u64> {
        Ok(u64::from_le_bytes(self.slice(ptr, 8)?.try_into().unwrap()))
    }

    pub fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<()> {
        self.slice_mut(ptr, bytes.len() as u32)?
            .copy_from_slice(bytes);
        Ok(())
    }

    pub fn write_u8(&mut self, ptr: u32, v: u8) -> Result<()> {
        self.write(ptr, &[v])
    }

    pub fn write_u16(&mut self, ptr: u32, v: u16) -> Result<()> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub fn write_u32(&mut self, ptr: u32, v: u32) -> Result<()> {
        self.write(ptr, &v.to_le_bytes())
    }

    pub fn write_u64(&mut self, ptr: u32, v: u64) -> Result<()> {
        self.write(ptr, &v.to_le_bytes())
    }

    /// A path or name: UTF-8 as WASI requires (`EILSEQ` otherwise).
    pub fn read_str(&self, ptr: u32, len: u32) -> Result<&str> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| errno::ILSEQ)
    }

    /// `count` iovecs at `ptr` as host iovecs, each checked against the memory.
    pub fn iovecs(&mut self, ptr: u32, count: u32) -> Result<Vec<libc::iovec>> {
        let table = self.range(ptr, count.checked_mul(8).ok_or(errno::FAULT)?)?;
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let at = table.start as u32 + i * 8;
            let (buf, len) = (self.read_u32(at)?, self.read_u32(at + 4)?);
            let base = self.host_ptr(buf, len)?;
            out.push(libc::iovec {
                iov_base: base as *mut libc::c_void,
                iov_len: len as usize,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_bounds_is_efault_and_never_touches_host_memory() {
        let mut bytes = vec![0u8; 64];
        let mut m = GuestMemory::new(&mut bytes);
        assert_eq!(m.read_u32(61), Err(errno::FAULT));
        assert_eq!(m.write_u64(60, 1), Err(errno::FAULT));
        assert_eq!(m.slice(u32::MAX, 2).err(), Some(errno::FAULT));
        m.write_u32(0, 40).unwrap();
        m.write_u32(4, 100).unwrap(); // iovec {40, 100} runs past the end
        assert_eq!(m.iovecs(0, 1).err(), Some(errno::FAULT));
        assert_eq!(m.iovecs(60, u32::MAX).err(), Some(errno::FAULT));
        m.write_u32(4, 24).unwrap();
        assert_eq!(m.iovecs(0, 1).unwrap()[0].iov_len, 24);
    }
}
