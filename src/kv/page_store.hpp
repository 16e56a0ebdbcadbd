// Where the pages of the global layers' KV live when their total may outgrow RAM (--kv-ram,
// --kv-dir): in RAM up to a byte budget, past it in a file, mapped into memory. The attention
// kernels read a file page through the mapping exactly as they read a RAM page, so results are
// bit-identical to the all-in-RAM run; the kernel's read-ahead brings file pages back as decode
// streams through them. After each global layer's attention the backend calls drop_resident():
// the mapped file pages leave the process (its RSS stays at the RAM budget plus one layer's file
// pages) and stay in the page cache, from which the kernel evicts them under memory pressure
// (written back to the file first).
//
// The file is created in `dir` (empty: the system's temporary folder) and unlinked at once: it
// never outlives the process, even after a crash. It grows in segments of kSegmentBytes.
// Thread-safe (sequences of one backend allocate concurrently).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace scout::kv {

struct PageStoreOptions {
    uint64_t ram_bytes = 0;  // budget for pages in RAM; 0: no budget (every page in RAM, no file)
    std::string dir;         // folder of the backing file; empty: the system's temporary folder
};

class PageStore {
public:
    static constexpr std::size_t kSegmentBytes = std::size_t{64} << 20;

    // Every page has page_bytes bytes (a global layer's page: page_size rows).
    PageStore(std::size_t page_bytes, PageStoreOptions options);
    ~PageStore();
    PageStore(const PageStore&) = delete;
    PageStore& operator=(const PageStore&) = delete;

    // A page of page_bytes() bytes (contents undefined), in RAM while the budget allows, else in
    // the file. Throws scout::Error when the file cannot grow (disk full: the message says where).
    uint8_t* allocate();
    void release(uint8_t* page);

    std::size_t page_bytes() const { return page_bytes_; }
    bool in_file(const uint8_t* page) const;
    uint64_t ram_bytes_in_use() const;
    uint64_t file_bytes_in_use() const;
    // Unmaps the resident file pages from the process (their data stays in the page cache and
    // the file). Cheap when no page is in the file.
    void drop_resident();
    const std::string& file_path() const { return path_; }  // for messages (already unlinked)

private:
    struct Segment {
        uint8_t* base = nullptr;
        std::size_t bytes = 0;
    };
    const Segment* segment_of(const uint8_t* p) const;

    std::size_t page_bytes_;
    std::size_t file_stride_;  // page_bytes rounded up to the system page size
    PageStoreOptions options_;
    mutable std::mutex mutex_;
    int fd_ = -1;
    std::string path_;
    std::vector<Segment> segments_;
    std::size_t next_in_segment_ = 0;  // bytes used in the last segment
    std::vector<uint8_t*> file_free_;
    uint64_t ram_in_use_ = 0;
    uint64_t file_in_use_ = 0;
};

}  // namespace scout::kv
