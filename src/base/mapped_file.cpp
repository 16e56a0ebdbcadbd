#include "base/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/error.hpp"

namespace scout {

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(cat("cannot open ", path, ": ", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        throw Error(cat("cannot stat ", path, ": ", std::strerror(err)));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(cat(path, " is not a regular file"));
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error(cat("cannot map ", path, ": ", std::strerror(err)));
        }
        data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
}

void prefault_bytes(std::span<const uint8_t> bytes, const std::function<void(uint64_t)>& on_progress) {
    if (bytes.empty()) return;
    ::madvise(const_cast<uint8_t*>(bytes.data()), bytes.size(), MADV_WILLNEED);
    constexpr std::size_t kPage = 4096, kReport = std::size_t{64} << 20;
    volatile uint8_t sink = 0;
    for (std::size_t off = 0; off < bytes.size(); off += kPage) {
        sink = sink ^ bytes[off];
        if (on_progress && off % kReport == 0 && off > 0) on_progress(off);
    }
    if (on_progress) on_progress(bytes.size());
}

void MappedFile::prefault(const std::function<void(uint64_t)>& on_progress) const {
    prefault_bytes(bytes(), on_progress);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
        path_ = std::move(other.path_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

}  // namespace scout
