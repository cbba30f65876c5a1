// snow/core/cancel.hpp: single-threaded cancellation. A cancel_source is requested once; the
// callbacks registered on it run at that moment. Tasks inherit their awaiter's source, so a
// request reaches whatever operation is in flight at the bottom of the chain.
#pragma once

#include <cassert>
#include <utility>

namespace snow {

class cancel_source;

/// A callback run when its source is cancelled. Unregisters itself when destroyed, so an
/// operation that completes normally leaves nothing behind. Not copyable or movable: the
/// source links to it by address.
class cancel_callback {
public:
    /// The callback's signature: it gets the `context` given to attach().
    using function = void (*)(void* context) noexcept;

    cancel_callback() noexcept = default;
    cancel_callback(const cancel_callback&) = delete;
    cancel_callback& operator=(const cancel_callback&) = delete;
    ~cancel_callback() { reset(); }

    /// Registers `fn(context)` on `source`; runs it at once if the source is already
    /// cancelled and returns false then, so the caller can skip work it would have to undo.
    bool attach(cancel_source* source, function fn, void* context) noexcept;
    /// Unregisters the callback if it is registered; it will not run. Safe to call twice.
    void reset() noexcept;

private:
    friend class cancel_source;
    cancel_source* source_ = nullptr;
    function fn_ = nullptr;
    void* context_ = nullptr;
    cancel_callback* prev_ = nullptr;
    cancel_callback* next_ = nullptr;
};

/// A one-shot cancellation request that operations and tasks listen to. Requesting it runs
/// every registered cancel_callback once; a source may be linked to a parent so that
/// cancelling the parent cancels it too. Single-threaded: use it on the loop that owns it.
class cancel_source {
public:
    cancel_source() noexcept = default;
    /// A source that is cancelled whenever `parent` is (parent may be null).
    explicit cancel_source(cancel_source* parent) noexcept { link_to(parent); }
    cancel_source(const cancel_source&) = delete;
    cancel_source& operator=(const cancel_source&) = delete;
    /// Callbacks still registered are detached, never run: a source may die before the
    /// operations that listen to it (a frame's locals go before its parameters), and those
    /// then simply can no longer be cancelled through it.
    ~cancel_source() {
        while (cancel_callback* cb = head_) unlink(cb);
    }

    /// Makes this source cancelled whenever `parent` is, replacing any earlier parent (null
    /// unlinks). Cancels at once if the parent is already cancelled.
    void link_to(cancel_source* parent) noexcept {
        parent_link_.attach(
            parent, [](void* self) noexcept { static_cast<cancel_source*>(self)->request(); },
            this);
    }

    /// Whether request() has been called (directly or through a parent).
    bool requested() const noexcept { return requested_; }

    /// Cancels once; later calls do nothing. Callbacks run in registration order and may
    /// unregister other callbacks of this source.
    void request() noexcept {
        if (requested_) return;
        requested_ = true;
        while (cancel_callback* cb = head_) {
            unlink(cb);
            cb->fn_(cb->context_);
        }
    }

private:
    friend class cancel_callback;

    void push(cancel_callback* cb) noexcept {
        cb->prev_ = tail_;
        cb->next_ = nullptr;
        (tail_ ? tail_->next_ : head_) = cb;
        tail_ = cb;
    }
    void unlink(cancel_callback* cb) noexcept {
        (cb->prev_ ? cb->prev_->next_ : head_) = cb->next_;
        (cb->next_ ? cb->next_->prev_ : tail_) = cb->prev_;
        cb->prev_ = cb->next_ = nullptr;
        cb->source_ = nullptr;
    }

    cancel_callback parent_link_;
    cancel_callback* head_ = nullptr;
    cancel_callback* tail_ = nullptr;
    bool requested_ = false;
};

inline bool cancel_callback::attach(cancel_source* source, function fn, void* context) noexcept {
    reset();
    if (source == nullptr) return true;
    fn_ = fn;
    context_ = context;
    if (source->requested_) {
        fn_(context_);
        return false;
    }
    source_ = source;
    source->push(this);
    return true;
}

inline void cancel_callback::reset() noexcept {
    if (source_) source_->unlink(this);
}

} // namespace snow
