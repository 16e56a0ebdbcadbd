// A read-only memory-mapped file. Weights are used in place from the mapping,
// so a checkpoint costs page cache, not a private copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>

namespace scout {

class MappedFile {
public:
    // Maps the whole file read-only; throws scout::Error naming the path on failure.
    explicit MappedFile(const std::filesystem::path& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;

    const uint8_t* data() const { return data_; }
    std::size_t size() const { return size_; }
    std::span<const uint8_t> bytes() const { return {data_, size_}; }
    const std::filesystem::path& path() const { return path_; }

    // Reads one byte of every page so that later accesses do not fault: with a progress
    // callback this is the visible "loading" of a memory-mapped checkpoint.
    // on_progress(bytes_done) is called about every 64 MiB.
    void prefault(const std::function<void(uint64_t)>& on_progress = {}) const;

private:
    std::filesystem::path path_;
    const uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

// The same for any span of mapped memory (e.g. a GGUF file's bytes): reads one byte per page;
// on_progress(done) about every 64 MiB and once at the end.
void prefault_bytes(std::span<const uint8_t> bytes, const std::function<void(uint64_t)>& on_progress = {});

}  // namespace scout
