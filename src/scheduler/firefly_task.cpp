#include "scheduler/firefly_task.hpp"

#include <algorithm>
#include <new>

#include "runtime/huge_pages.hpp"

namespace fireflies {

void* frame_array::allocate_first(std::size_t bytes) {
    struct alignas(64) line {
        std::byte bytes[64];
    };
    if (!base_) {
        constexpr std::size_t align = alignof(std::max_align_t);
        size_ = bytes;
        stride_ = (std::max<std::size_t>(bytes, 1) + align - 1) / align * align;
        const std::size_t lines = (capacity_ * stride_ + sizeof(line) - 1) / sizeof(line);
        base_.reset(reinterpret_cast<std::byte*>(
            huge_page_allocator<line>().allocate(std::max<std::size_t>(lines, 1))));
    }
    if (bytes != size_ || used_ == capacity_) throw std::bad_alloc();
    return frame(used_++);
}

frame_array::scope::scope(frame_array& frames) noexcept : previous_(current_) {
    current_ = &frames;
}
frame_array::scope::~scope() {
    current_ = previous_;
}

} // namespace fireflies
