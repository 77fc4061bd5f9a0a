#ifndef SLICERBRIDGE_CLIENT_IMPL_CLIENT_HPP
#define SLICERBRIDGE_CLIENT_IMPL_CLIENT_HPP

#include <slicerbridge/client/call_table.hpp>
#include <slicerbridge/detail/capabilities.hpp>
#include <slicerbridge/detail/memfd_transfer.hpp>
#include <slicerbridge/detail/msgpack_depth.hpp>
#include <slicerbridge/detail/stream_ops.hpp>
#include <slicerbridge/detail/unique_function.hpp>
#include <slicerbridge/message/progress.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace slicerbridge {
namespace detail {

using client_clock = std::chrono::steady_clock;

/// Completes a handler on its own executor, at most once, with the work kept alive meanwhile.
/// Kept without an allocation when the handler is a few pointers (see `initiate_call`).
template <class Signature>
using completion = unique_function<Signature, 160>;

template <class Handler, class DefaultExecutor, class... Results>
completion<void(std::error_code, Results...)> make_completion(Handler handler,
                                                              const DefaultExecutor& fallback) {
    auto executor = asio::get_associated_executor(handler, fallback);
    auto work = asio::make_work_guard(executor);
    return [handler = std::move(handler), work = std::move(work)](std::error_code ec,
                                                                  Results... results) mutable {
        auto target = work.get_executor();
        asio::post(target, [handler = std::move(handler), ec,
                            packed = std::make_tuple(std::move(results)...)]() mutable {
            std::apply([&](auto&&... r) { handler(ec, std::move(r)...); }, std::move(packed));
        });
        work.reset();
    };
}

/// The method of a call whose params are `invoke_params`: "invoke", without a string made.
struct invoke_method {};

/// Posts `f` to `executor`; through the io_context's own executor when `executor` is an
/// `any_io_executor` holding one, as the client's usually is, which spares the type-erased
/// executor's work (its property look-ups and a second allocation) on every call.
template <class Executor, class Function>
void post_on(const Executor& executor, Function&& f) {
    if constexpr (std::is_same_v<Executor, asio::any_io_executor>) {
        if (const auto* io = executor.template target<asio::io_context::executor_type>()) {
            asio::post(*io, std::forward<Function>(f));
            return;
        }
    }
    asio::post(executor, std::forward<Function>(f));
}

/// Whether the caller runs inside a handler of `executor`, so that whatever it does is serialised
/// with that executor's other handlers: for an io_context's executor (one thread runs the
/// client's context, or its executor is a strand) or a strand of one, directly or in an
/// `any_io_executor`; false for any other.
template <class Executor>
bool running_in(const Executor& executor) noexcept {
    using io_executor = asio::io_context::executor_type;
    using io_strand = asio::strand<io_executor>;
    if constexpr (std::is_same_v<Executor, asio::any_io_executor>) {
        if (const auto* io = executor.template target<io_executor>()) {
            return io->running_in_this_thread();
        }
        const auto* strand = executor.template target<io_strand>();
        return strand != nullptr && strand->running_in_this_thread();
    } else if constexpr (std::is_same_v<Executor, io_executor> ||
                         std::is_same_v<Executor, io_strand>) {
        return executor.running_in_this_thread();
    } else {
        return false;
    }
}

/// The id of a head that is a response with a valid id, whatever else is wrong with it.
inline std::optional<call_id> response_id_of(const value& head) {
    const value* kind = head.is_map() ? head.find("kind") : nullptr;
    const value* id = head.is_map() ? head.find("id") : nullptr;
    if (kind == nullptr || !kind->is_string() || kind->as_string() != "response" || id == nullptr) {
        return std::nullopt;
    }
    auto number = id->as_uint64();
    return number ? std::optional<call_id>(*number) : std::nullopt;
}

template <class Stream>
class client_impl : public std::enable_shared_from_this<client_impl<Stream>> {
public:
    using executor_type = typename Stream::executor_type;

    client_impl(Stream stream, client_options options)
        : stream_(std::move(stream)), executor_(stream_.get_executor()),
          options_(std::move(options)) {
        limits handshake_limits = options_.receive_limits;
        handshake_limits.max_frame = std::min(handshake_limits.max_frame, handshake_max_frame);
        stream_.set_receive_limits(handshake_limits);
        // Every head is decoded before the next read starts: a small frame's is read where it
        // arrived, without an allocation and a copy.
        stream_.set_transient_heads(true);
    }

    /// The stream's, kept: asked for several times by every call, from any thread.
    const executor_type& get_executor() const noexcept { return executor_; }

    // ---- handshake -------------------------------------------------------------------------

    void start_handshake(completion<void(std::error_code)> done) {
        if (state_ != state::fresh) {
            return done(make_error_code(error::invalid_message));
        }
        state_ = state::handshaking;
        detail::disable_nagle(stream_.next_layer());
        client_hello hello;
        hello.min_version = protocol_min;
        hello.max_version = protocol_max;
        hello.limits = options_.receive_limits;
        hello.implementation = {options_.name, options_.version};
        hello.token = options_.token;
        hello.capabilities.push_back("progress");
        for (auto& capability : (options_.codecs & codec_set::all()).to_capabilities()) {
            hello.capabilities.push_back(std::move(capability));
        }
        if (detail::can_offer_memfd(options_.transfer_memfd, stream_)) {
            hello.capabilities.push_back(detail::memfd_capability);
        }
        hello.capabilities.push_back(detail::grease_capability());
        handshake_done_ = std::move(done);
        send(message(std::move(hello)));
        stream_.async_read_frame([self = this->shared_from_this()](
                                     std::error_code ec, received_frame frame, frame_arrival) {
            self->on_server_hello(ec, std::move(frame));
        });
    }

    void on_server_hello(std::error_code ec, received_frame frame) {
        if (state_ == state::closed) {
            return; // closed while the hello's read completed: the handshake has failed already
        }
        auto fail = [&](std::error_code failure) { fail_connection(failure); };
        if (ec) {
            return fail(ec);
        }
        value head = decode_frame(frame, handshake_limits(), codec_set{}, ec);
        if (ec) {
            return fail(ec);
        }
        // A connection-level error may come instead of the hello ([HELLO-2]).
        message decoded = decode_message(head, false, ec);
        if (auto* reply = std::get_if<response>(&decoded);
            !ec && reply && reply->error && !reply->id) {
            server_error_ = reply->error;
            return fail(reply->error->code_as_error_code());
        }
        decoded = decode_message(head, true, ec);
        auto* hello = std::get_if<server_hello>(&decoded);
        if (ec || hello == nullptr) {
            return fail(make_error_code(error::invalid_message));
        }
        if (hello->version < protocol_min || protocol_max < hello->version) {
            return fail(make_error_code(error::unsupported_version)); // [HELLO-6]
        }
        server_ = *hello;
        codecs_ =
            codec_set::from_capabilities(hello->capabilities) & options_.codecs & codec_set::all();
        detail::accept_memfd(detail::can_offer_memfd(options_.transfer_memfd, stream_),
                             hello->capabilities, hello->version, stream_);
        state_ = state::open;
        const auto& listed = hello->capabilities;
        table_.set_cancel_in_force(std::find(listed.begin(), listed.end(), "cancel") !=
                                   listed.end());               // [CANCEL-5]
        table_.set_max_in_flight(server_.limits.max_in_flight); // [LIMIT-13]
        stream_.set_receive_limits(options_.receive_limits);
        auto done = std::move(handshake_done_);
        done(std::error_code{});
        read_next();
        start_deferred();
    }

    limits handshake_limits() const {
        limits l = options_.receive_limits;
        l.max_frame = std::min(l.max_frame, handshake_max_frame);
        return l;
    }

    const server_hello& server_info() const { return server_; }
    const std::string& rejected_bytes() const { return stream_.rejected_bytes(); }

    // ---- descriptions dropped from the last catalog ([CAT-12]) ------------------------------
    // Written where a catalog completes and read where an invoke starts, which may be other
    // threads than the client's: guarded by a mutex.

    /// `kept`: the catalog's valid descriptions. A dropped description that repeats the name of
    /// a kept one ([CAT-11]) is reported but blocks no call: the name is the kept processor's.
    void set_dropped(std::vector<dropped_description> dropped,
                     const std::vector<processor_description>& kept) {
        std::lock_guard<std::mutex> lock(dropped_mutex_);
        dropped_ = std::move(dropped);
        blocked_.clear();
        for (const auto& d : dropped_) {
            const bool name_kept =
                std::any_of(kept.begin(), kept.end(),
                            [&d](const processor_description& k) { return k.name == d.name; });
            if (!d.name.empty() && !name_kept) {
                blocked_.push_back(d);
            }
        }
        any_blocked_.store(!blocked_.empty(), std::memory_order_release);
    }

    std::vector<dropped_description> dropped() const {
        std::lock_guard<std::mutex> lock(dropped_mutex_);
        return dropped_;
    }

    std::optional<dropped_description> find_dropped(std::string_view processor) const {
        if (!any_blocked_.load(std::memory_order_acquire)) {
            return std::nullopt; // the usual case, asked on every invoke: no lock taken
        }
        std::lock_guard<std::mutex> lock(dropped_mutex_);
        for (const auto& d : blocked_) {
            if (d.name == processor) {
                return d;
            }
        }
        return std::nullopt;
    }

    // ---- operations queued on the client's executor ----------------------------------------

    /// Runs `f(impl)` on the client's executor, after what is queued there; counted while it
    /// waits, so that no call starts inline ahead of it (see `can_start_inline`).
    template <class Function>
    static void queue(const std::shared_ptr<client_impl>& impl, Function&& f) {
        impl->note_queued();
        post_on(impl->executor_, [impl, f = std::forward<Function>(f)]() mutable {
            impl->note_dequeued();
            f(*impl);
        });
    }

    /// What `queue` does around a handler that it does not make itself: before posting it, and
    /// first thing when it runs.
    void note_queued() noexcept { queued_.fetch_add(1, std::memory_order_relaxed); }
    void note_dequeued() noexcept { queued_.fetch_sub(1, std::memory_order_relaxed); }

    /// Whether a call initiated now may start at once, in its initiating function, rather than
    /// from a handler queued on the client's executor: when the initiating function runs on that
    /// executor (a handler starting the next call), on an open connection, with none of the
    /// client's operations queued (which would then run after the call, out of the order in
    /// which they were asked for). A call started so still never completes in its initiating
    /// function (see `complete_soon`). The executor is checked first: the state belongs to it,
    /// and another thread may not read it.
    bool can_start_inline() const noexcept {
        return running_in(executor_) && state_ == state::open &&
               queued_.load(std::memory_order_relaxed) == 0 && deferred_.empty();
    }

    /// `start_call`, inside the initiating function of the call (`can_start_inline()` is true):
    /// what would complete a handler at once (a call refused, a failed write) is queued instead.
    template <class Method, class Params, class Complete>
    void start_call_inline(call_id id, Method&& method, Params&& params,
                           std::function<void(const progress_params&)>&& on_progress,
                           std::optional<double> local_timeout, Complete&& complete) {
        struct inline_scope {
            bool& flag;
            explicit inline_scope(bool& f) : flag(f) { flag = true; }
            ~inline_scope() { flag = false; }
        } scope(starting_inline_);
        start_call(id, std::forward<Method>(method), std::forward<Params>(params),
                   std::move(on_progress), local_timeout, std::forward<Complete>(complete));
    }

    // ---- calls -----------------------------------------------------------------------------

    /// What the loop keeps for a call the table holds open: where its answer and progress go.
    struct pending_call {
        completion<void(std::error_code, response&&, invoke_result*)> complete;
        std::function<void(const progress_params&)> on_progress;
        std::unique_ptr<asio::steady_timer> give_up;
        bool typed_result = false;  // made with invoke_params: its result is read without a value
        encoded_frame held_request; // while the table holds the call ([LIMIT-13])
        /// A held invoke's deadline, and when it was held: the server counts a deadline from
        /// its receipt, so the request leaves with what remains of it ([LIMIT-13]).
        std::optional<double> held_deadline;
        client_clock::time_point held_since;
    };

    call_id reserve_id() { return next_id_.fetch_add(1); }

    /// An id the caller holds before its call starts ([MSG-1] still applies when it does).
    void hold_reserved(call_id id) { table_.reserve(id); }

    /// `Method`: a `std::string`, or `invoke_method` with `invoke_params`, which are written
    /// without a `value` made of them. `Complete`: called as
    /// `complete(std::error_code, response&&, invoke_result* typed)`, once (`typed`: the result
    /// of a call with `invoke_params`, read without a value, or null); kept as a `completion`
    /// while the call is open.
    template <class Method, class Params, class Complete>
    void start_call(call_id id, Method&& method, Params&& params,
                    std::function<void(const progress_params&)>&& on_progress,
                    std::optional<double> local_timeout, Complete&& complete) {
        if (state_ == state::fresh || state_ == state::handshaking) {
            // Calls made before the handshake completes wait for it ([HELLO-1]).
            deferred_.push_back(
                [self = this->shared_from_this(), id, method = std::forward<Method>(method),
                 params = std::forward<Params>(params), on_progress = std::move(on_progress),
                 local_timeout, complete = std::forward<Complete>(complete)]() mutable {
                    self->start_call(id, std::move(method), std::move(params),
                                     std::move(on_progress), local_timeout, std::move(complete));
                });
            return;
        }
        constexpr bool invoke_params_call = std::is_same_v<std::decay_t<Method>, invoke_method>;
        static_assert(invoke_params_call == std::is_same_v<std::decay_t<Params>, invoke_params>);
        std::string_view method_name = "invoke";
        if constexpr (!invoke_params_call) {
            method_name = method;
        }
        std::error_code ec;
        encoded_frame frame = [&] {
            if (state_ != state::open) {
                return encoded_frame();
            }
            const auto options = detail::with_memfd(encode_options{request_codec()}, stream_);
            if constexpr (invoke_params_call) {
                return encode_request(id, params, options, ec, std::move(spare_head_));
            } else {
                return encode_request(id, method, params, options, ec);
            }
        }();
        if (state_ == state::open) {
            if (!ec && (frame.total_size() > server_.limits.max_frame ||
                        frame.head().size() > server_.limits.max_head ||
                        !frame.head_depth_within(server_.limits.max_depth))) {
                // [LIMIT-1] [LIMIT-11]: never send what the server refuses
                ec = make_error_code(error::too_large);
            }
        }
        if (ec) {
            return complete_soon(std::forward<Complete>(complete), ec);
        }
        bool send_request = false;
        table_.start(id, method_name, local_timeout, [&](const call_table_action& action) {
            switch (action.what_to_do) {
            case call_table_action::kind::send_request:
            case call_table_action::kind::hold_request: {
                pending_call& call = pending_.emplace_new(id)->second;
                call.complete.emplace(std::forward<Complete>(complete));
                call.on_progress = std::move(on_progress);
                call.typed_result = invoke_params_call;
                send_request = action.what_to_do == call_table_action::kind::send_request;
                if (!send_request) {
                    call.held_request = std::move(frame);
                    if constexpr (invoke_params_call) {
                        call.held_deadline = params.deadline;
                        call.held_since = client_clock::now();
                    }
                }
                break;
            }
            case call_table_action::kind::complete: // refused: the connection is gone, or a
                                                    // duplicate
                complete_soon(std::forward<Complete>(complete), action.error);
                break;
            default:
                carry_out(action);
            }
        });
        if (send_request) { // once the table is done: a failed write re-enters it
            enqueue(std::move(frame));
        }
    }

    /// Asks the server to stop call `id` ([CANCEL-1]), when the table says so.
    void send_cancel(call_id id) {
        table_.on_cancel_requested(id, [this](const call_table_action& a) { carry_out(a); });
    }

    double cancel_grace() const { return server_.limits.cancel_grace; }

    void close() {
        if (state_ == state::closed) {
            return;
        }
        fail_connection(asio::error::operation_aborted);
    }

    void report_violation(std::string_view what) {
        if (options_.on_protocol_violation) {
            options_.on_protocol_violation(what);
        }
    }

private:
    enum class state { fresh, handshaking, open, closed };

    /// Completes a call that fails before it is sent: at once, or, inside the call's initiating
    /// function, from a handler queued for it.
    template <class Complete>
    void complete_soon(Complete&& complete, std::error_code ec) {
        if (!starting_inline_) {
            return complete(ec, response{}, nullptr);
        }
        post_on(executor_, [complete = std::forward<Complete>(complete), ec]() mutable {
            complete(ec, response{}, nullptr);
        });
    }

    /// A write failed: the connection fails, at once or, inside a call's initiating function,
    /// from a handler queued for it (it completes the calls still open).
    void on_write_failed(std::error_code ec) {
        if (!starting_inline_) {
            return fail_connection(ec);
        }
        post_on(executor_, [self = this->shared_from_this(), ec] { self->fail_connection(ec); });
    }

    codec request_codec() const {
        return codecs_.contains(options_.request_compression) ? options_.request_compression
                                                              : codec::none;
    }

    std::error_code closed_reason() const {
        return closed_reason_ ? closed_reason_ : make_error_code(asio::error::not_connected);
    }

    // ---- reading ---------------------------------------------------------------------------

    void read_next() {
        stream_.async_read_frame([self = this->shared_from_this()](
                                     std::error_code ec, received_frame frame, frame_arrival) {
            self->on_frame(ec, std::move(frame));
        });
    }

    void on_frame(std::error_code ec, received_frame frame) {
        if (state_ == state::closed) {
            return;
        }
        if (ec) {
            return fail_connection(ec);
        }
        if (take_usual_response(frame)) {
            if (state_ != state::closed) {
                read_next();
            }
            return;
        }
        value head = decode_frame(frame, options_.receive_limits, codecs_, ec);
        if (ec) {
            report_violation("undecodable frame from the server: " + ec.message());
            auto id = response_id_of(head);
            if (id && table_.is_open(*id)) { // bad bulk references only ([BULK-9])
                on_malformed_response(*id, ec);
                return read_next();
            }
            return fail_connection(ec);
        }
        std::string what;
        message decoded = decode_message(std::move(head), false, ec, what);
        if (ec) {
            report_violation("malformed message from the server: " + what);
            if (auto id = response_id_of(head)) {
                on_malformed_response(*id, ec); // [MSG-15]
            }
            return read_next();
        }
        if (auto* reply = std::get_if<response>(&decoded)) {
            on_response(std::move(*reply));
        } else if (auto* note = std::get_if<notification>(&decoded)) {
            on_notification(*note);
        } else if (auto* req = std::get_if<request>(&decoded)) {
            // [MSG-3]: servers send no requests in 1.0.
            response refusal;
            refusal.id = req->id;
            refusal.error = error_info::from(make_error_code(error::method_not_found),
                                             "clients serve no methods");
            send(message(std::move(refusal)));
        } else {
            report_violation("a second hello from the server");
        }
        if (state_ != state::closed) {
            read_next();
        }
    }

    /// A usual response (see detail::read_usual_response_with), handled; false for any other
    /// frame. The result of a call made with invoke_params is read straight into its
    /// invoke_result, when it is in the usual form (see detail::read_usual_invoke_result).
    bool take_usual_response(const received_frame& frame) {
        response reply;
        std::optional<invoke_result> typed;
        std::uint64_t id = 0;
        const bool usual = detail::read_usual_response_with(
            frame, options_.receive_limits, codecs_, id, reply.timings,
            [&](head_decoder& decoder, std::uint64_t answered) {
                auto found = pending_.find(answered);
                if (found != pending_.end() && found->second.typed_result) {
                    return read_usual_invoke_result(decoder, options_.receive_limits,
                                                    typed.emplace());
                }
                return decoder.read_nested(reply.result, 1);
            });
        if (!usual) {
            return false;
        }
        reply.id = id;
        on_response(std::move(reply), typed ? &*typed : nullptr);
        return true;
    }

    void on_response(response&& reply, invoke_result* typed = nullptr) {
        if (!reply.id) {
            // A connection-level error answers something we sent; nothing to complete.
            report_violation("connection-level error from the server: " +
                             (reply.error ? reply.error->message : std::string()));
            return;
        }
        std::error_code ec = reply.error ? reply.error->code_as_error_code() : std::error_code{};
        table_.on_response(*reply.id, ec, false, [&](const call_table_action& a) {
            carry_out(a, &reply, nullptr, typed);
        });
    }

    void on_malformed_response(call_id id, std::error_code ec) {
        table_.on_response(id, ec, true, [this](const call_table_action& a) { carry_out(a); });
    }

    void on_notification(const notification& note) {
        if (note.method != "progress") {
            return; // [MSG-9]
        }
        std::error_code ec;
        auto progress = progress_params::from_value(note.params, ec);
        if (ec) {
            report_violation("malformed progress notification"); // [MSG-16]
            return;
        }
        table_.on_progress(progress.id, progress.fraction, [&](const call_table_action& a) {
            if (a.what_to_do == call_table_action::kind::complete) {
                response failure; // [PROG-1]
                failure.id = progress.id;
                failure.error = error_info::from(a.error, "the server's progress went backwards");
                return carry_out(a, &failure);
            }
            carry_out(a, nullptr, &progress);
        });
    }

    /// Carries out one of the table's actions. `reply`: the response that completes the call,
    /// if one does, and `typed` its result read without a value, if it was; `progress`: the
    /// notification to deliver, if one is.
    void carry_out(const call_table_action& action, response* reply = nullptr,
                   const progress_params* progress = nullptr, invoke_result* typed = nullptr) {
        using kind = call_table_action::kind;
        if (action.what_to_do == kind::report) {
            return report_violation(action.what);
        }
        if (action.what_to_do == kind::send_cancel) {
            value::map params{{"id", value(action.id)}};
            return send(message(notification{"cancel", value(std::move(params))}));
        }
        auto found = pending_.find(action.id);
        if (found == pending_.end()) {
            return;
        }
        pending_call& call = found->second;
        switch (action.what_to_do) {
        case kind::send_request: { // a held call's turn; the table may be re-entered by a failure
            encoded_frame frame = std::move(call.held_request);
            if (call.held_deadline) {
                const std::chrono::duration<double> held = client_clock::now() - call.held_since;
                set_request_deadline(frame, remaining_deadline(*call.held_deadline, held.count()));
                call.held_deadline.reset();
            }
            enqueue(std::move(frame));
            break;
        }
        case kind::arm_timer:
            call.give_up = std::make_unique<asio::steady_timer>(stream_.get_executor());
            call.give_up->expires_after(std::chrono::duration_cast<client_clock::duration>(
                std::chrono::duration<double>(std::min(action.seconds, 1e9))));
            call.give_up->async_wait(
                [self = this->shared_from_this(), id = action.id](std::error_code ec) {
                    if (!ec) {
                        self->table_.on_give_up(
                            id, [&self](const call_table_action& a) { self->carry_out(a); });
                    }
                });
            break;
        case kind::disarm_timer:
            if (call.give_up) {
                call.give_up->cancel();
            }
            break;
        case kind::deliver_progress:
            if (call.on_progress && progress != nullptr) {
                call.on_progress(*progress);
            }
            break;
        case kind::complete: {
            // Out of the map before its handler runs, which may start calls; the rest of what
            // the call held is released first, as erasing it would.
            auto node = pending_.extract(found);
            pending_call& ended = node.mapped();
            ended.on_progress = nullptr;
            ended.give_up.reset();
            ended.typed_result = false;
            ended.held_request = encoded_frame();
            ended.held_deadline.reset();
            if (reply != nullptr) {
                ended.complete(action.error, std::move(*reply), typed);
            } else {
                ended.complete(action.error, response{}, nullptr);
            }
            ended.complete.reset();
            pending_.recycle(std::move(node));
            break;
        }
        default:
            break;
        }
    }

    // ---- writing ---------------------------------------------------------------------------

    void send(const message& m) {
        std::error_code ec;
        encoded_frame frame = encode_message(m, encode_options{}, ec);
        if (!ec) {
            enqueue(std::move(frame));
        }
    }

    void enqueue(encoded_frame&& frame) {
        if (state_ == state::closed) {
            return;
        }
        if (!writing_ && outbox_.empty()) {
            // What write_next does with a queue of one frame, without queueing it.
            std::error_code ec;
            std::size_t written = stream_.write_frame_now(frame, ec);
            if (ec) {
                return on_write_failed(ec);
            }
            if (written < frame.total_size()) {
                outbox_.push_back(std::move(frame));
                write_rest(written);
                return;
            }
            spare_head_ = std::move(frame).release_head(); // for the next request's head
            return;
        }
        outbox_.push_back(std::move(frame));
        if (!writing_) {
            write_next();
        }
    }

    /// Writes queued frames at once while the socket takes them, and the first one it does
    /// not take in full asynchronously.
    void write_next() {
        while (!outbox_.empty() && state_ != state::closed) {
            std::error_code ec;
            std::size_t written = stream_.write_frame_now(outbox_.front(), ec);
            if (ec) {
                return on_write_failed(ec);
            }
            if (written < outbox_.front().total_size()) {
                return write_rest(written);
            }
            outbox_.pop_front();
        }
    }

    /// Writes the rest of the first queued frame, of which `written` bytes are out,
    /// asynchronously, then the frames after it.
    void write_rest(std::size_t written) {
        writing_ = true;
        stream_.async_write_frame(
            outbox_.front(), written,
            [self = this->shared_from_this()](std::error_code write_ec, std::size_t) {
                self->writing_ = false;
                self->outbox_.pop_front();
                if (write_ec || self->state_ == state::closed) {
                    self->outbox_.clear();
                    self->fail_connection(write_ec ? write_ec : self->closed_reason());
                } else {
                    self->write_next();
                }
            });
    }

    void start_deferred() {
        auto deferred = std::move(deferred_);
        deferred_.clear();
        for (auto& start : deferred) {
            start();
        }
    }

    void fail_connection(std::error_code ec) {
        if (state_ == state::closed) {
            return;
        }
        state_ = state::closed;
        closed_reason_ = ec;
        if (!writing_) {
            outbox_.clear();
        }
        detail::close_stream(stream_.next_layer());
        if (options_.on_close) {
            auto on_close = std::move(options_.on_close);
            on_close(ec);
        }
        if (handshake_done_) {
            auto done = std::move(handshake_done_);
            done(ec);
        }
        table_.on_connection_lost(ec, [this](const call_table_action& a) { carry_out(a); });
        start_deferred(); // they fail now, with the connection's error
    }

    frame_stream<Stream> stream_;
    const executor_type executor_;
    client_options options_;
    state state_ = state::fresh;
    std::error_code closed_reason_;
    completion<void(std::error_code)> handshake_done_;
    server_hello server_;
    mutable std::mutex dropped_mutex_;
    std::vector<dropped_description> dropped_;
    std::vector<dropped_description> blocked_; // dropped_ whose name no kept one has
    std::atomic<bool> any_blocked_{false};     // !blocked_.empty()
    std::optional<error_info> server_error_;
    codec_set codecs_;
    std::atomic<call_id> next_id_{1};
    call_table table_;
    recycling_map<std::unordered_map<call_id, pending_call>>
        pending_; // the calls table_ holds open
    std::deque<encoded_frame> outbox_;
    std::vector<std::byte> spare_head_; // a written frame's head storage, for the next request
    bool writing_ = false;
    std::vector<unique_function<void()>> deferred_;
    std::atomic<std::size_t> queued_{0}; // operations queued by `queue` that have not run
    bool starting_inline_ = false;       // inside start_call_inline
};

/// Sends `cancel` for call `id` when the operation's cancellation slot fires ([CANCEL-1]).
template <class Impl>
struct cancel_on_signal {
    std::weak_ptr<Impl> impl;
    call_id id;
    void operator()(asio::cancellation_type type) const {
        if ((type & asio::cancellation_type::terminal) == asio::cancellation_type::none &&
            (type & asio::cancellation_type::partial) == asio::cancellation_type::none) {
            return;
        }
        if (auto alive = impl.lock()) {
            Impl::queue(alive, [id = id](Impl& i) { i.send_cancel(id); });
        }
    }
};

} // namespace detail

template <class Stream>
basic_client<Stream>::basic_client(Stream stream, client_options options)
    : impl_(std::make_shared<detail::client_impl<Stream>>(std::move(stream), std::move(options))) {}

template <class Stream>
basic_client<Stream>::~basic_client() {
    if (impl_) {
        detail::client_impl<Stream>::queue(impl_, [](auto& impl) { impl.close(); });
    }
}

template <class Stream>
auto basic_client<Stream>::get_executor() const -> executor_type {
    return impl_->get_executor();
}

template <class Stream>
template <class CompletionToken>
auto basic_client<Stream>::async_handshake(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        [impl = impl_](auto handler) {
            auto done = detail::make_completion(std::move(handler), impl->get_executor());
            detail::client_impl<Stream>::queue(impl, [done = std::move(done)](auto& i) mutable {
                i.start_handshake(std::move(done));
            });
        },
        token);
}

template <class Stream>
const server_hello& basic_client<Stream>::server_info() const {
    return impl_->server_info();
}

template <class Stream>
const std::string& basic_client<Stream>::rejected_bytes() const {
    return impl_->rejected_bytes();
}

template <class Stream>
std::vector<dropped_description> basic_client<Stream>::dropped_processors() const {
    return impl_->dropped();
}

namespace detail {

/// Keeps an executor's context from running out of work until `reset`, as
/// `asio::executor_work_guard` does; for a standard executor by holding one copy of it that
/// tracks work, rather than the guard's two.
template <class Executor, class = void>
class tracked_work {
public:
    explicit tracked_work(const Executor& executor) : guard_(executor) {}
    Executor get_executor() const { return guard_.get_executor(); }
    void reset() { guard_.reset(); }

private:
    asio::executor_work_guard<Executor> guard_;
};

template <class Executor>
class tracked_work<Executor, std::enable_if_t<asio::execution::is_executor<Executor>::value>> {
public:
    explicit tracked_work(const Executor& executor)
        : work_(asio::prefer(executor, asio::execution::outstanding_work.tracked)) {}
    const auto& get_executor() const { return *work_; }
    void reset() { work_.reset(); }

private:
    std::optional<std::decay_t<typename asio::prefer_result<
        const Executor&, asio::execution::outstanding_work_t::tracked_t>::type>>
        work_;
};

/// The common body of every call: reserve an id, hook up cancellation, start on the strand.
template <class Impl, class Handler, class Method, class Params, class Deliver>
void initiate_call(const std::shared_ptr<Impl>& impl, call_id id, Handler handler, Method&& method,
                   Params&& params, std::function<void(const progress_params&)> on_progress,
                   std::optional<double> local_timeout, Deliver deliver) {
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
        slot.template emplace<cancel_on_signal<Impl>>(cancel_on_signal<Impl>{impl, id});
    }
    auto executor = asio::get_associated_executor(handler, impl->get_executor());
    if (on_progress) {
        // Progress runs where the completion handler would, and dispatched as it is, so that
        // the two keep the order in which they happened.
        on_progress = [executor, callback = std::move(on_progress)](const progress_params& p) {
            asio::dispatch(executor, [callback, p] { callback(p); });
        };
    }
    // Every caller of `finish` runs on the client's executor, never inside the initiating
    // function, so a handler that runs there too is called at once: what dispatch would do, without
    // its type-erased hand-over.
    bool runs_on_client_executor = false;
    if constexpr (std::is_same_v<decltype(executor), typename Impl::executor_type>) {
        runs_on_client_executor = executor == impl->get_executor();
    }
    tracked_work<decltype(executor)> work(executor);
    // `typed`: the invoke result read without a value (see read_usual_invoke_result), for a
    // `deliver` that takes it.
    using handler_type = decltype(handler);
    constexpr bool takes_typed =
        std::is_invocable_v<Deliver&, handler_type&, std::error_code, response&&, invoke_result*>;
    auto finish = [handler = std::move(handler), work = std::move(work), slot,
                   runs_on_client_executor, deliver = std::move(deliver)](
                      std::error_code ec, response&& reply, invoke_result* typed) mutable {
        if (runs_on_client_executor) {
            work.reset();
            if (slot.is_connected()) {
                slot.clear();
            }
            if constexpr (takes_typed) {
                return deliver(handler, ec, std::move(reply), typed);
            } else {
                return deliver(handler, ec, std::move(reply));
            }
        }
        std::optional<invoke_result> kept;
        if (typed != nullptr) {
            kept = std::move(*typed);
        }
        asio::dispatch(work.get_executor(),
                       [handler = std::move(handler), slot, deliver = std::move(deliver), ec,
                        reply = std::move(reply), kept = std::move(kept)]() mutable {
                           if (slot.is_connected()) {
                               slot.clear();
                           }
                           if constexpr (takes_typed) {
                               deliver(handler, ec, std::move(reply), kept ? &*kept : nullptr);
                           } else {
                               deliver(handler, ec, std::move(reply));
                           }
                       });
        work.reset();
    };
    if (impl->can_start_inline()) {
        // A handler on the client's executor starting the next call: started here, without a
        // handler queued for it (and the params moved into one).
        return impl->start_call_inline(id, std::forward<Method>(method),
                                       std::forward<Params>(params), std::move(on_progress),
                                       local_timeout, std::move(finish));
    }
    // As Impl::queue does, but with the call's state moved once less.
    impl->note_queued();
    post_on(impl->get_executor(),
            [impl, id, method = std::forward<Method>(method), params = std::forward<Params>(params),
             on_progress = std::move(on_progress), local_timeout,
             finish = std::move(finish)]() mutable {
                impl->note_dequeued();
                impl->start_call(id, std::move(method), std::move(params), std::move(on_progress),
                                 local_timeout, std::move(finish));
            });
}

} // namespace detail

template <class Stream>
template <class CompletionToken>
auto basic_client<Stream>::async_call(std::string method, value params, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, response)>(
        [impl = impl_](auto handler, std::string&& m, value&& p) {
            using handler_type = decltype(handler);
            detail::initiate_call(impl, impl->reserve_id(), std::move(handler), std::move(m),
                                  std::move(p), {}, std::nullopt,
                                  [](handler_type& h, std::error_code ec, response&& reply) {
                                      h(ec, std::move(reply));
                                  });
        },
        token, std::move(method), std::move(params));
}

template <class Stream>
template <class CompletionToken>
auto basic_client<Stream>::async_invoke(invoke_params params, invoke_options options,
                                        CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, invoke_reply)>(
        [impl = impl_](auto handler, invoke_params&& p, invoke_options&& o) {
            using handler_type = decltype(handler);
            if (auto dropped = impl->find_dropped(p.processor)) {
                // [CAT-12]: fails here, nothing is sent.
                invoke_reply out;
                out.error = error_info::from(
                    make_error_code(error::invalid_message),
                    "processor " + p.processor +
                        " was dropped from the catalog: " + dropped->reason,
                    value::map{{"processor", p.processor}, {"requirement", dropped->requirement}});
                auto executor = asio::get_associated_executor(handler, impl->get_executor());
                asio::post(executor,
                           [handler = std::move(handler), out = std::move(out)]() mutable {
                               handler(make_error_code(error::invalid_message), std::move(out));
                           });
                return;
            }
            std::optional<double> local_timeout;
            if (o.deadline) {
                p.deadline = o.deadline;
                local_timeout = *o.deadline + impl->cancel_grace() + 1.0;
            }
            const call_id id = o.id ? *o.id : impl->reserve_id();
            auto started = detail::client_clock::now();
            detail::initiate_call(impl, id, std::move(handler), detail::invoke_method{},
                                  std::move(p), std::move(o.on_progress), local_timeout,
                                  [started](handler_type& h, std::error_code ec, response&& reply,
                                            invoke_result* typed) {
                                      const double round_trip =
                                          std::chrono::duration<double>(
                                              detail::client_clock::now() - started)
                                              .count();
                                      invoke_result result;
                                      if (typed != nullptr) {
                                          result = std::move(*typed);
                                      } else if (!ec) {
                                          result = invoke_result::from_value(reply.result, ec);
                                      }
                                      // The reply is made where the handler takes it, rather than
                                      // moved there.
                                      h(ec, invoke_reply{std::move(result), std::move(reply.error),
                                                         reply.timings, round_trip});
                                  });
        },
        token, std::move(params), std::move(options));
}

template <class Stream>
template <class CompletionToken>
auto basic_client<Stream>::async_catalog(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken,
                                void(std::error_code, std::vector<processor_description>)>(
        [impl = impl_](auto handler) {
            using handler_type = decltype(handler);
            detail::initiate_call(
                impl, impl->reserve_id(), std::move(handler), "catalog", value(value::map{}), {},
                std::nullopt, [impl](handler_type& h, std::error_code ec, response&& reply) {
                    // [CAT-12]: descriptions that break a rule are dropped and
                    // remembered; the others are the catalog.
                    catalog_result catalog;
                    if (!ec) {
                        catalog = catalog_result::from_value(reply.result, ec);
                    }
                    if (!ec) {
                        impl->set_dropped(std::move(catalog.dropped), catalog.processors);
                    }
                    h(ec, std::move(catalog.processors));
                });
        },
        token);
}

template <class Stream>
template <class CompletionToken>
auto basic_client<Stream>::async_describe(std::string processor_name, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, processor_description)>(
        [impl = impl_](auto handler, std::string name) {
            using handler_type = decltype(handler);
            value::map params{{"processor", value(std::move(name))}};
            detail::initiate_call(
                impl, impl->reserve_id(), std::move(handler), "describe", value(std::move(params)),
                {}, std::nullopt, [](handler_type& h, std::error_code ec, response&& reply) {
                    processor_description description;
                    if (!ec) {
                        description = processor_description::from_value(reply.result, ec);
                    }
                    h(ec, std::move(description));
                });
        },
        token, std::move(processor_name));
}

template <class Stream>
template <class CompletionToken>
auto basic_client<Stream>::async_ping(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, double)>(
        [impl = impl_](auto handler) {
            using handler_type = decltype(handler);
            auto started = detail::client_clock::now();
            detail::initiate_call(
                impl, impl->reserve_id(), std::move(handler), "ping", value(value::map{}), {},
                std::nullopt, [started](handler_type& h, std::error_code ec, response&&) {
                    h(ec,
                      std::chrono::duration<double>(detail::client_clock::now() - started).count());
                });
        },
        token);
}

template <class Stream>
template <class CompletionToken>
auto basic_client<Stream>::async_goodbye(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        [impl = impl_](auto handler) {
            using handler_type = decltype(handler);
            detail::initiate_call(impl, impl->reserve_id(), std::move(handler), "goodbye",
                                  value(value::map{}), {}, std::nullopt,
                                  [](handler_type& h, std::error_code ec, response&&) { h(ec); });
        },
        token);
}

template <class Stream>
call_id basic_client<Stream>::reserve_call_id() {
    const call_id id = impl_->reserve_id();
    // Queued before anything the caller does with the id, so the table knows it first.
    detail::client_impl<Stream>::queue(impl_, [id](auto& impl) { impl.hold_reserved(id); });
    return id;
}

template <class Stream>
void basic_client<Stream>::cancel(call_id id) {
    detail::client_impl<Stream>::queue(impl_, [id](auto& impl) { impl.send_cancel(id); });
}

template <class Stream>
void basic_client<Stream>::close() {
    detail::client_impl<Stream>::queue(impl_, [](auto& impl) { impl.close(); });
}

} // namespace slicerbridge

#endif
