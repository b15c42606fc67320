#pragma once
#include <coroutine>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <memory>
#include <vector>

namespace fireflies {

/// Bump allocator for coroutine frames: the frames of a block's fireflies sit side by side in
/// large slabs (no per-frame malloc, no fragmentation) and are released together.
class frame_arena {
  public:
    frame_arena() = default;
    frame_arena(const frame_arena&) = delete;
    frame_arena& operator=(const frame_arena&) = delete;

    void* allocate(std::size_t bytes);
    std::size_t bytes_reserved() const noexcept { return slabs_.size() * slab_bytes; }

    /// While a scope is alive, new firefly coroutine frames on this thread come from `arena`.
    class scope {
      public:
        explicit scope(frame_arena& arena) noexcept;
        ~scope();
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

      private:
        frame_arena* previous_;
    };
    static frame_arena* current() noexcept;

  private:
    static constexpr std::size_t slab_bytes = std::size_t{1} << 22;
    struct slab_free {
        void operator()(std::byte* p) const noexcept { std::free(p); }
    };
    std::vector<std::unique_ptr<std::byte[], slab_free>> slabs_;
    std::size_t used_ = slab_bytes;
};

/// The coroutine type of one firefly. It starts suspended, never finishes on its own and is
/// destroyed by its owner. Frames come from the current frame_arena.
struct firefly_task {
    struct promise_type {
        firefly_task get_return_object() noexcept {
            return firefly_task{std::coroutine_handle<promise_type>::from_promise(*this)};
        }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }

        static void* operator new(std::size_t bytes) {
            frame_arena* arena = frame_arena::current();
            return arena ? arena->allocate(bytes) : ::operator new(bytes);
        }
        // Arena frames are released with their arena; a frame made without one is not.
        static void operator delete(void*, std::size_t) noexcept {}
    };

    std::coroutine_handle<promise_type> handle;
};

} // namespace fireflies
