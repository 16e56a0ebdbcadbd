#include "kv/page_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/error.hpp"

namespace scout::kv {

PageStore::PageStore(std::size_t page_bytes, PageStoreOptions options)
    : page_bytes_(page_bytes), options_(std::move(options)) {
    check(page_bytes_ > 0, "PageStore: pages must have a size");
    const auto sys_page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    file_stride_ = (page_bytes_ + sys_page - 1) / sys_page * sys_page;
}

PageStore::~PageStore() {
    for (const Segment& s : segments_) ::munmap(s.base, s.bytes);
    if (fd_ >= 0) ::close(fd_);
}

const PageStore::Segment* PageStore::segment_of(const uint8_t* p) const {
    for (const Segment& s : segments_)
        if (p >= s.base && p < s.base + s.bytes) return &s;
    return nullptr;
}

uint8_t* PageStore::allocate() {
    std::lock_guard lock(mutex_);
    if (options_.ram_bytes == 0 || ram_in_use_ + page_bytes_ <= options_.ram_bytes) {
        ram_in_use_ += page_bytes_;
        return new uint8_t[page_bytes_];
    }
    file_in_use_ += page_bytes_;
    if (!file_free_.empty()) {
        uint8_t* p = file_free_.back();
        file_free_.pop_back();
        return p;
    }
    if (fd_ < 0) {
        const std::string dir = options_.dir.empty() ? std::filesystem::temp_directory_path().string() : options_.dir;
        std::string tmpl = (std::filesystem::path(dir) / "scout-kv-XXXXXX").string();
        fd_ = ::mkstemp(tmpl.data());
        if (fd_ < 0) {
            file_in_use_ -= page_bytes_;
            throw Error(cat("--kv-dir: cannot create the KV file in ", dir, ": ", std::strerror(errno),
                            " (choose a writable folder with --kv-dir, or raise --kv-ram)"));
        }
        path_ = tmpl;
        ::unlink(tmpl.c_str());  // gone when the process ends, however it ends
    }
    if (segments_.empty() || next_in_segment_ + file_stride_ > segments_.back().bytes) {
        const std::size_t bytes = std::max(kSegmentBytes, file_stride_);
        off_t offset = 0;
        for (const Segment& s : segments_) offset += static_cast<off_t>(s.bytes);
        // posix_fallocate reserves the blocks now, so a full disk is an error here and not a
        // SIGBUS when a page is first written through the mapping.
        const int rc = ::posix_fallocate(fd_, offset, static_cast<off_t>(bytes));
        if (rc != 0) {
            file_in_use_ -= page_bytes_;
            throw Error(cat("KV file ", path_, " (deleted): cannot grow to ", offset + static_cast<off_t>(bytes),
                            " bytes: ", std::strerror(rc), " (free disk space in --kv-dir, or raise --kv-ram)"));
        }
        void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, offset);
        if (base == MAP_FAILED) {
            file_in_use_ -= page_bytes_;
            throw Error(cat("KV file ", path_, ": cannot map ", bytes, " bytes: ", std::strerror(errno)));
        }
        segments_.push_back({static_cast<uint8_t*>(base), bytes});
        next_in_segment_ = 0;
    }
    uint8_t* p = segments_.back().base + next_in_segment_;
    next_in_segment_ += file_stride_;
    return p;
}

void PageStore::release(uint8_t* page) {
    if (page == nullptr) return;
    std::lock_guard lock(mutex_);
    if (segment_of(page) != nullptr) {
        file_in_use_ -= page_bytes_;
        file_free_.push_back(page);
    } else {
        ram_in_use_ -= page_bytes_;
        delete[] page;
    }
}

bool PageStore::in_file(const uint8_t* page) const {
    std::lock_guard lock(mutex_);
    return segment_of(page) != nullptr;
}

uint64_t PageStore::ram_bytes_in_use() const {
    std::lock_guard lock(mutex_);
    return ram_in_use_;
}

uint64_t PageStore::file_bytes_in_use() const {
    std::lock_guard lock(mutex_);
    return file_in_use_;
}

void PageStore::drop_resident() {
    std::lock_guard lock(mutex_);
    // MADV_DONTNEED on a shared file mapping only unmaps: the data stays in the page cache and
    // the file, and the next read faults it back in.
    for (const Segment& s : segments_) ::madvise(s.base, s.bytes, MADV_DONTNEED);
}

}  // namespace scout::kv
