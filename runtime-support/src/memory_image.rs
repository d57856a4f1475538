//! Memory images (issue 14): a defined memory's initial contents laid out as they will be in
//! linear memory, so that the loader maps them copy-on-write instead of copying its data
//! segments. The compiler writes them into the artifact (`artifact::IMAGES_SECTION`); the
//! loader builds one in memory for a module whose artifact has none, from its second
//! instantiation on. Both use the rule here.
//!
//! A memory has an image only when applying its segments cannot fail and cannot depend on the
//! instance: every active data segment that targets it has a constant offset (no `global.get`)
//! and ends inside its initial size; the memory is defined, not shared (threads
//! re-instantiate into it), and has 64 KiB pages. The image is in place from the memory's
//! creation, before the element segments and the data segments before its own are applied;
//! that is observable only if instantiation fails part-way and code of the failed instance
//! stays reachable, which only an active element segment writing one of its functions into an
//! imported table can arrange (the host or another module then calls it and reads the memory
//! the specification leaves with only the segments applied before the failure). So a module
//! with such a segment has no images (`images_allowed`).

use crate::module_info::{ConstOp, ModuleInfo, SegmentMode};

/// Images start and end on this boundary in linear memory and in the section that holds them,
/// so that any host page up to 64 KiB maps them.
pub const IMAGE_ALIGN: u64 = 65536;

/// Where a memory's image lies: `len` bytes at `start` in the memory (both multiples of
/// `IMAGE_ALIGN`), made of the active segments `segments` (data indices, in order), which
/// hold `data` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageLayout {
    pub memory: u32,
    pub start: u64,
    pub len: u64,
    pub segments: Vec<usize>,
    pub data: u64,
}

/// Below this much data, an artifact carries no image: copying it costs less than mapping it,
/// and the image would pad the file to a 64 KiB page.
pub const MIN_ARTIFACT_IMAGE_DATA: u64 = 64 << 10;

/// The image of memory `memory` of `info`, if it may have one and it is worth having: its
/// segments hold data, and the image is not mostly zeros (an image is as long as the span from
/// the first segment's start to the last one's end; one tiny segment far from the others would
/// make a file of zeros).
pub fn layout(info: &ModuleInfo, memory: u32) -> Option<ImageLayout> {
    if memory < info.num_imported_memories || !images_allowed(info) {
        return None;
    }
    let ty = info.memories.get(memory as usize)?;
    if ty.shared || ty.page_size_log2.is_some_and(|l| l != 16) {
        return None;
    }
    let size = ty.initial.checked_mul(65536)?;
    let (mut low, mut high, mut data) = (u64::MAX, 0u64, 0u64);
    let mut segments = Vec::new();
    for (i, seg) in info.datas.iter().enumerate() {
        let SegmentMode::Active { index, offset } = &seg.mode else {
            continue;
        };
        if *index != memory {
            continue;
        }
        let start = match offset[..] {
            [ConstOp::I32(v)] if !ty.memory64 => v as u32 as u64,
            [ConstOp::I64(v)] if ty.memory64 => v as u64,
            _ => return None,
        };
        let len = seg.bytes.len() as u64;
        let end = start.checked_add(len).filter(|&e| e <= size)?;
        // An empty segment writes nothing (its bounds were just checked), wherever it is.
        if len > 0 {
            (low, high) = (low.min(start), high.max(end));
            data += len;
            segments.push(i);
        }
    }
    if data == 0 {
        return None;
    }
    let start = low / IMAGE_ALIGN * IMAGE_ALIGN;
    let len = high.next_multiple_of(IMAGE_ALIGN) - start;
    if len > data.saturating_mul(2).max(data + (1 << 20)) {
        return None;
    }
    Some(ImageLayout {
        memory,
        start,
        len,
        segments,
        data,
    })
}

/// Whether a memory of `info` may start from an image: no active element segment writes an
/// imported table (see the module's documentation).
pub fn images_allowed(info: &ModuleInfo) -> bool {
    !info.elems.iter().any(
        |e| matches!(e.mode, SegmentMode::Active { index, .. } if index < info.num_imported_tables),
    )
}

/// The images an artifact of `info` carries: those of its defined memories that have one and
/// at least `MIN_ARTIFACT_IMAGE_DATA` bytes of data.
pub fn plan(info: &ModuleInfo) -> Vec<ImageLayout> {
    (info.num_imported_memories..info.memories.len() as u32)
        .filter_map(|m| layout(info, m))
        .filter(|l| l.data >= MIN_ARTIFACT_IMAGE_DATA)
        .collect()
}

/// Writes the image `layout` describes into `out` (`layout.len` bytes, zeroed by the caller),
/// taking segment bytes from `wasm`, the module `info` was parsed from. Segments apply in
/// order: a later one overwrites an earlier one where they overlap.
pub fn fill(layout: &ImageLayout, info: &ModuleInfo, wasm: &[u8], out: &mut [u8]) {
    for &i in &layout.segments {
        let seg = &info.datas[i];
        let SegmentMode::Active { offset, .. } = &seg.mode else {
            unreachable!("an image is made of active segments");
        };
        let start = match offset[..] {
            [ConstOp::I32(v)] => v as u32 as u64,
            [ConstOp::I64(v)] => v as u64,
            _ => unreachable!("an image's segments have constant offsets"),
        };
        let at = (start - layout.start) as usize;
        out[at..at + seg.bytes.len()].copy_from_slice(&wasm[seg.bytes.clone()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_info::DataSegment;

    fn info(
        memory: wasmparser::MemoryType,
        datas: Vec<(Vec<ConstOp>, std::ops::Range<usize>)>,
    ) -> ModuleInfo {
        ModuleInfo {
            memories: vec![memory],
            datas: datas
                .into_iter()
                .map(|(offset, bytes)| DataSegment {
                    mode: SegmentMode::Active { index: 0, offset },
                    bytes,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn memory(pages: u64) -> wasmparser::MemoryType {
        wasmparser::MemoryType {
            memory64: false,
            shared: false,
            initial: pages,
            maximum: None,
            page_size_log2: None,
        }
    }

    #[test]
    fn an_image_spans_its_segments_on_64_kib_boundaries_later_segments_winning() {
        let wasm: Vec<u8> = (0..=255).collect();
        let i = info(
            memory(4),
            vec![
                (vec![ConstOp::I32(70_000)], 0..100),
                (vec![ConstOp::I32(70_050)], 200..210),
                (vec![ConstOp::I32(140_000)], 10..12),
                // Empty, before the image's start and past its end: not part of it.
                (vec![ConstOp::I32(3)], 5..5),
                (vec![ConstOp::I32(262_144)], 5..5),
            ],
        );
        let l = layout(&i, 0).unwrap();
        assert_eq!(
            (l.start, l.len, l.segments.clone(), l.data),
            (65536, 131072, vec![0, 1, 2], 112)
        );
        // Too little data for an artifact to carry.
        assert!(plan(&i).is_empty());
        let mut out = vec![0u8; l.len as usize];
        fill(&l, &i, &wasm, &mut out);
        let at = |o: u64| (o - 65536) as usize;
        assert_eq!(&out[at(70_000)..at(70_050)], &wasm[0..50]);
        assert_eq!(&out[at(70_050)..at(70_060)], &wasm[200..210]);
        assert_eq!(&out[at(70_060)..at(70_100)], &wasm[60..100]);
        assert_eq!(&out[at(140_000)..at(140_002)], &wasm[10..12]);
        assert_eq!(out.iter().filter(|&&b| b != 0).count(), 100 + 2 - 1);
    }

    #[test]
    fn memories_whose_segments_could_fail_or_vary_have_none() {
        // Past the initial size: instantiation traps.
        assert_eq!(
            layout(
                &info(memory(1), vec![(vec![ConstOp::I32(65_530)], 0..10)]),
                0
            ),
            None
        );
        // A global's value decides where.
        let g = info(memory(1), vec![(vec![ConstOp::GlobalGet(0)], 0..10)]);
        assert_eq!(layout(&g, 0), None);
        // A negative i32 offset is a large unsigned one.
        assert_eq!(
            layout(&info(memory(1), vec![(vec![ConstOp::I32(-1)], 0..1)]), 0),
            None
        );
        // Shared, one-byte pages, imported.
        let mut shared = memory(1);
        shared.shared = true;
        assert_eq!(
            layout(&info(shared, vec![(vec![ConstOp::I32(0)], 0..1)]), 0),
            None
        );
        let mut tiny = memory(65536);
        tiny.page_size_log2 = Some(0);
        assert_eq!(
            layout(&info(tiny, vec![(vec![ConstOp::I32(0)], 0..1)]), 0),
            None
        );
        let mut imported = info(memory(1), vec![(vec![ConstOp::I32(0)], 0..1)]);
        imported.num_imported_memories = 1;
        assert_eq!(layout(&imported, 0), None);
        // No data; mostly zeros (two bytes 16 MiB apart).
        assert_eq!(
            layout(&info(memory(1), vec![(vec![ConstOp::I32(0)], 0..0)]), 0),
            None
        );
        let sparse = vec![
            (vec![ConstOp::I32(0)], 0..1),
            (vec![ConstOp::I32(16 << 20)], 0..1),
        ];
        assert_eq!(layout(&info(memory(512), sparse), 0), None);
    }
}
