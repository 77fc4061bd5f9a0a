#ifndef SLICERBRIDGE_SERVER_SESSION_HPP
#define SLICERBRIDGE_SERVER_SESSION_HPP
// One client connection of a server: a thin loop that reads frames, lets the connection machine
// (connection_machine.hpp), negotiate() and each call's machine (call_machine.hpp) decide, and
// carries their decisions out. Internal to `server`.
//
// Ownership: the connection's executor (a strand, or an io_context that one thread runs: one
// handler at a time either way; "the strand" below) is the only writer.
// It alone touches the socket, the outbox, the call table and the call machines. A worker that
// computes a call owns nothing of the connection: it hands its encoded answer over by posting it
// to the strand, and its progress through a latest-value slot under the call's progress lock.
// The strand writes at once what the socket takes without waiting and the rest asynchronously,
// so only one write is ever in progress on a socket.

#include <slicerbridge/detail/capabilities.hpp>
#include <slicerbridge/detail/connection_timeouts.hpp>
#include <slicerbridge/detail/memfd_transfer.hpp>
#include <slicerbridge/detail/msgpack_depth.hpp>
#include <slicerbridge/detail/recycling_map.hpp>
#include <slicerbridge/detail/stream_ops.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/server/call_machine.hpp>
#include <slicerbridge/server/call_state.hpp>
#include <slicerbridge/server/connection_machine.hpp>
#include <slicerbridge/server/methods.hpp>
#include <slicerbridge/server/negotiate.hpp>
#include <slicerbridge/server/outbox.hpp>
#include <slicerbridge/server/run_processor.hpp>
#include <slicerbridge/server/state.hpp>
#include <slicerbridge/transport/frame_stream.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

namespace slicerbridge::detail {

using clock = std::chrono::steady_clock;

inline double seconds_between(clock::time_point from, clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

/// Seconds as a timer duration, clamped to what the clock can represent (about 30 years here).
inline clock::duration to_duration(double seconds) {
    constexpr double longest = 1e9;
    return std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(std::clamp(seconds, 0.0, longest)));
}

/// The io_context whose own executor `executor` is (not a strand on it), else null.
template <class Executor>
asio::io_context* context_of(const Executor& executor) {
    if constexpr (std::is_same_v<Executor, asio::io_context::executor_type>) {
        return &executor.context();
    } else if constexpr (std::is_same_v<Executor, asio::any_io_executor>) {
        const auto* target = executor.template target<asio::io_context::executor_type>();
        return target == nullptr ? nullptr : &target->context();
    } else {
        return nullptr;
    }
}

template <class Stream>
class server_session : public session_base,
                       public std::enable_shared_from_this<server_session<Stream>> {
public:
    /// `address` is the peer's network address counted against max_connections_per_address
    /// (empty: none); a `refusal` is sent instead of serving the connection ([LIMIT-8]).
    server_session(std::shared_ptr<server_state> state, Stream stream,
                   std::function<void()> on_closed, std::string address = {},
                   std::optional<std::string> refusal = std::nullopt)
        : state_(std::move(state)), stream_(std::move(stream)), on_closed_(std::move(on_closed)),
          id_(state_->next_session_id++), address_(std::move(address)),
          refusal_(std::move(refusal)), budget_(state_->budget, state_->options.connection_budget),
          timeouts_(state_->options.hello_timeout, state_->options.idle_timeout,
                    state_->options.stall_timeout, clock::now()) {
        limits handshake_limits = state_->options.receive_limits;
        handshake_limits.max_frame = std::min(handshake_limits.max_frame, handshake_max_frame);
        handshake_limits.max_head = std::min(handshake_limits.max_head, handshake_max_frame);
        stream_.set_receive_limits(handshake_limits);
        // Every frame is decoded, its strings copied, before the next read starts: a small
        // frame's head is read where it arrived, without an allocation and a copy.
        stream_.set_transient_heads(true);
        answers_batched_ = state_->io_thread_context != nullptr &&
                           context_of(stream_.get_executor()) == state_->io_thread_context;
    }

    ~server_session() override {
        if (on_closed_) {
            on_closed_();
        }
        if (!address_.empty()) {
            std::lock_guard<std::mutex> lock(state_->sessions_mutex);
            auto counted = state_->connections_per_address.find(address_);
            if (counted != state_->connections_per_address.end() && --counted->second == 0) {
                state_->connections_per_address.erase(counted);
            }
        }
        release_budget(budget_.held());
        state_->notify_if_all_closed();
    }

    auto get_executor() { return stream_.get_executor(); }

    void start() {
        detail::disable_nagle(stream_.next_layer());
        if (timeouts_.any()) {
            watch(timeouts_.first_tick());
        }
        if (refusal_) {
            state_->log_limited(log_level::warning, "refused",
                                "refused a connection: " + *refusal_);
            send_connection_error(make_error_code(error::too_many_connections), *refusal_);
            return close_after_writes();
        }
        stream_.set_read_gate(
            [this](std::uint64_t announced_size) { return may_read(announced_size); });
        read_next();
    }

    void begin_shutdown(std::chrono::milliseconds grace) override {
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this(), grace] { self->drain(grace); });
    }

    void budget_available() override {
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this()] { self->resume_reading(); });
    }

private:
    using phase = connection_phase;

    // ---- reading ---------------------------------------------------------------------------

    void read_next() {
        stream_.async_read_frame([self = this->shared_from_this()](std::error_code ec,
                                                                   received_frame frame,
                                                                   frame_arrival arrival) {
            self->on_frame(ec, std::move(frame), arrival);
        });
    }

    /// Classifies the frame, lets the connection machine decide, carries the decision out.
    void on_frame(std::error_code ec, received_frame frame, frame_arrival arrival) {
        if (phase_ == phase::closed) {
            return;
        }
        if (ec) {
            const bool bad_header = ec == error::malformed_frame || ec == error::frame_too_large;
            if (bad_header) {
                state_->log_limited(log_level::warning, "bad_frame",
                                    "closing a connection that sent a bad frame header");
            }
            connection_event event{bad_header ? inbound::bad_frame : inbound::stream_ended, false,
                                   ec};
            return carry_out(decide(phase_, event), nullptr, "bad frame header: " + ec.message());
        }
        // Kept by an invoke it starts (on_invoke takes it); released once the frame is handled.
        struct release_unless_taken {
            server_session& session;
            ~release_unless_taken() {
                auto left = session.budget_.take_frame_reservation();
                if (left != 0) {
                    session.release_budget(left);
                    session.schedule_resume();
                }
            }
        } reservation{*this};
        state_->note_frame(id_);
        if (phase_ != phase::awaiting_hello) {
            std::uint64_t invoke_id = 0;
            request_outcome invoke;
            if (detail::decode_usual_invoke(frame, stream_receive_limits(), codecs_, invoke_id,
                                            invoke.params)) {
                return on_usual_invoke(invoke_id, invoke, arrival);
            }
        }
        std::error_code frame_error;
        std::optional<request> usual;
        if (phase_ != phase::awaiting_hello) {
            usual = detail::decode_usual_request(frame, stream_receive_limits(), codecs_);
        }
        value head =
            usual ? value() : decode_frame(frame, stream_receive_limits(), codecs_, frame_error);
        std::error_code message_error;
        std::string what;
        message decoded = usual ? message(std::move(*usual))
                                : decode_message(std::move(head), phase_ == phase::awaiting_hello,
                                                 message_error, what);
        connection_event event;
        event.what = usual ? inbound::request : classify(head, frame_error, decoded, message_error);
        event.error = frame_error;
        if (frame_error) {
            what = (event.what == inbound::undecodable ? "undecodable head: "
                                                       : "bad bulk reference: ") +
                   frame_error.message();
        }
        const auto id = usual ? std::optional<std::uint64_t>(std::get<request>(decoded).id)
                              : request_id_of(head);
        if (id && (event.what == inbound::request || event.what == inbound::malformed_request ||
                   event.what == inbound::request_with_bad_bulk)) {
            event.id_open = calls_.count(*id) != 0 || (goodbye_id_ && *goodbye_id_ == *id);
        }
        std::shared_ptr<call_state> cancelled;
        if (event.what == inbound::cancel) {
            std::error_code params_error;
            auto params =
                cancel_params::from_value(std::get<notification>(decoded).params, params_error);
            auto found = calls_.find(params.id);
            if (found != calls_.end()) {
                cancelled = found->second;
                event.id_open = true;
            }
        }
        auto decision = decide(phase_, event);
        switch (decision.action) {
        case connection_action::negotiate:
            on_handshake(std::get<client_hello>(decoded));
            break;
        case connection_action::admit:
            on_request(std::get<request>(decoded), arrival);
            break;
        case connection_action::cancel_call:
            cancel_call(cancelled);
            break;
        default:
            if (decision.action == connection_action::connection_error &&
                decision.error == error::duplicate_id) {
                what = "request id is already open";
            }
            return carry_out(decision, id ? &*id : nullptr, what);
        }
        if (phase_ != phase::closed && !reads_stopped_) {
            read_next();
        }
    }

    /// on_frame for an invoke that decode_usual_invoke read into `outcome.params`: the request
    /// decided as on_frame decides one that decode_usual_request reads.
    void on_usual_invoke(std::uint64_t id, request_outcome& outcome, const frame_arrival& arrival) {
        connection_event event;
        event.what = inbound::request;
        event.id_open = calls_.count(id) != 0 || (goodbye_id_ && *goodbye_id_ == id);
        auto decision = decide(phase_, event);
        if (decision.action != connection_action::admit) {
            const bool open = decision.action == connection_action::connection_error &&
                              decision.error == error::duplicate_id;
            return carry_out(decision, &id, open ? "request id is already open" : "");
        }
        const auto decoded = clock::now();
        handle_invoke(id, outcome, *state_, version_, calls_.size(), outbox_.unsent_answers(),
                      recent_processor_);
        act_on(id, outcome, arrival, decoded);
        if (phase_ != phase::closed && !reads_stopped_) {
            read_next();
        }
    }

    /// The decisions that only answer, ignore or close.
    void carry_out(const connection_decision& decision, const std::uint64_t* id, std::string what) {
        if (what.empty()) {
            what = decision.error.message();
        }
        switch (decision.action) {
        case connection_action::answer_error:
            send(error_response(*id, decision.error, std::move(what)));
            return read_next();
        case connection_action::connection_error: {
            value details;
            if (decision.error == error::duplicate_id && id != nullptr) {
                details = value(value::map{{"id", value(*id)}});
            }
            send_connection_error(decision.error, std::move(what), std::move(details));
            return read_next();
        }
        case connection_action::refuse:
            send_connection_error(decision.error, std::move(what));
            return close_after_writes();
        case connection_action::close:
            return drop();
        case connection_action::ignore:
            if (phase_ != phase::closed) {
                read_next();
            }
            return;
        default:
            return;
        }
    }

    limits stream_receive_limits() const {
        if (phase_ == phase::awaiting_hello) {
            limits l = state_->options.receive_limits;
            l.max_frame = std::min(l.max_frame, handshake_max_frame);
            return l;
        }
        return state_->options.receive_limits;
    }

    // ---- timeouts ([LIMIT-5..7]) --------------------------------------------------------------

    void watch(clock::time_point tick) {
        watch_timer_.expires_at(tick);
        watch_timer_.async_wait([self = this->shared_from_this()](std::error_code ec) {
            if (!ec && self->phase_ != phase::closed) {
                self->on_watch_tick();
            }
        });
    }

    void on_watch_tick() {
        connection_timeouts::activity a;
        a.bytes_received = stream_.bytes_received();
        a.bytes_sent = bytes_sent_;
        a.hello_done = phase_ != phase::awaiting_hello;
        a.mid_frame = stream_.mid_frame();
        a.reading_paused = stream_.reading_paused() || reads_stopped_; // no stall then
        a.calls_open = !calls_.empty();
        a.answers_waiting = !outbox_.empty();
        auto verdict = timeouts_.observe(clock::now(), a);
        if (!verdict.close) {
            return watch(verdict.next_tick);
        }
        const char* why = *verdict.close == timeout_reason::hello  ? "no hello in time"
                          : *verdict.close == timeout_reason::idle ? "idle"
                          : *verdict.close == timeout_reason::receive_stalled
                              ? "a frame stopped arriving"
                              : "an answer stopped leaving";
        state_->log_limited(log_level::info, "timeout", std::string("closed a connection: ") + why);
        drop();
    }

    // ---- the byte budget ([LIMIT-9]) ---------------------------------------------------------

    /// The read gate: reading pauses while the connection's or the server's budget is spent.
    bool may_read(std::uint64_t announced_size) {
        if (phase_ == phase::closed || reads_stopped_) {
            return true; // the read ends with the stream
        }
        if (budget_.admit_read(announced_size)) {
            return true;
        }
        state_->wait_for_budget(this->shared_from_this());
        return false;
    }

    void resume_reading() {
        if (phase_ != phase::closed && stream_.reading_paused()) {
            stream_.resume_reading();
        }
    }

    /// Returns `bytes` to the budgets and lets this and other connections read on.
    void release_budget(std::uint64_t bytes) {
        if (bytes != 0) {
            budget_.release(bytes);
        }
        state_->budget_released();
    }

    // ---- handshake -------------------------------------------------------------------------

    void on_handshake(const client_hello& hello) {
        auto outcome = negotiate(hello, state_->options);
        if (outcome.refusal && outcome.refusal->code == error::unauthorized) {
            state_->log_limited(log_level::warning, "token",
                                "refused a client with a missing or wrong token");
            return refuse_later(state_->failed_tokens.failed(address_, clock::now()),
                                std::move(*outcome.refusal));
        }
        if (outcome.refusal) {
            send_connection_error(outcome.refusal->code, outcome.refusal->text,
                                  std::move(outcome.refusal->details));
            return close_after_writes();
        }
        if (state_->options.token) {
            state_->failed_tokens.succeeded(address_);
        }
        version_ = outcome.reply.version;
        peer_limits_ = outcome.peer_limits;
        codecs_ = outcome.codecs;
        send_progress_ = outcome.progress;
        if (detail::accept_memfd(state_->options.transfer_memfd, hello.capabilities, version_,
                                 stream_)) {
            outcome.reply.capabilities.push_back(detail::memfd_capability);
        }
        outcome.reply.capabilities.push_back(detail::grease_capability());
        send(message(std::move(outcome.reply)));
        phase_ = phase::established;
        stream_.set_receive_limits(state_->options.receive_limits);
    }

    /// Answers a failed token after `delay` ([SEC-11]), reading nothing more meanwhile; the
    /// connection stays counted, and the hello timeout or a shutdown may close it first.
    void refuse_later(clock::duration delay, handshake_refusal refusal) {
        reads_stopped_ = true;
        refusal_timer_.expires_after(delay);
        refusal_timer_.async_wait([self = this->shared_from_this(),
                                   refusal = std::move(refusal)](std::error_code ec) mutable {
            if (ec || self->phase_ == phase::closed) {
                return;
            }
            self->send_connection_error(refusal.code, std::move(refusal.text),
                                        std::move(refusal.details));
            self->close_after_writes();
        });
    }

    // ---- messages --------------------------------------------------------------------------

    void on_request(request& req, const frame_arrival& arrival) {
        const auto decoded = clock::now();
        request_outcome outcome;
        handle_request(req, *state_, version_, calls_.size(), outbox_.unsent_answers(), outcome,
                       recent_processor_);
        act_on(req.id, outcome, arrival, decoded);
    }

    /// Carries out the outcome of request `id`, decoded at `decoded` (then a call is admitted).
    void act_on(std::uint64_t id, request_outcome& outcome, const frame_arrival& arrival,
                clock::time_point decoded) {
        switch (outcome.action) {
        case request_action::start_call:
            return start_call(id, *outcome.called, std::move(outcome.params), arrival, decoded);
        case request_action::goodbye:
            goodbye_id_ = id;
            phase_ = phase::draining;
            return finish_goodbye_if_drained();
        case request_action::answer:
            if (auto* reply = std::get_if<response>(&outcome.reply); reply && !reply->is_error()) {
                reply->timings = timings{seconds_between(arrival.first_byte, arrival.last_byte),
                                         0.0, seconds_between(decoded, clock::now()), 0.0};
            }
            return send(outcome.reply);
        }
    }

    void start_call(std::uint64_t id, const registered_processor& called, invoke_params&& params,
                    const frame_arrival& arrival, clock::time_point admitted) {
        // From the I/O thread's small cache of freed Asio blocks (a plain allocation elsewhere).
        auto call = std::allocate_shared<call_state>(asio::recycling_allocator<call_state>(), id,
                                                     called.proc, std::move(params));
        call->budgeted_bytes = budget_.take_frame_reservation();
        call->received_first = arrival.first_byte;
        call->received_last = arrival.last_byte;
        call->admitted = admitted;
        call->answer_head = std::move(spare_head_);
        if (called.execution == processor_execution::io_thread) {
            // Nothing else happens on this connection until the call is answered: no cancel can
            // arrive, so the call stays out of `calls_` and needs no timers.
            return compute(std::move(call), true);
        }
        calls_.emplace_new(call->id)->second = call;
        if (call->params.deadline) {
            call->deadline_timer.emplace(stream_.get_executor());
            call->deadline_timer->expires_after(to_duration(*call->params.deadline));
            call->deadline_timer->async_wait(
                [self = this->shared_from_this(), call](std::error_code timer_ec) {
                    if (!timer_ec) {
                        self->step(call, call_event::deadline);
                    }
                });
        }
        // With no other call in the server and no other connection sending lately, this thread
        // has nothing else to do: it waits for the answer rather than sleep and be woken for it.
        const bool wait_for_answer = state_->options.answer_wait.count() > 0 &&
                                     state_->pending_calls.load() == 1 &&
                                     state_->receiving_alone(id_, std::chrono::milliseconds(1));
        if (wait_for_answer) {
            call->handoff.store(answer_handoff::waiting, std::memory_order_relaxed);
        }
        // The I/O context must not run out of work while the answer is being computed, or the
        // answer, posted back to it, would never be sent (and shutdown never complete).
        call->work =
            asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
        state_->schedule_call(
            id_,
            [self = this->shared_from_this(), call]() mutable {
                // The session may go with the last reference: before the
                // I/O context may run out of work, never after.
                auto work = std::move(call->work);
                self->compute(std::move(call), false);
                self.reset();
                work = asio::any_io_executor();
            },
            answers_batched_ && !wait_for_answer);
        if (wait_for_answer) {
            await_answer(call);
        }
    }

    /// Strand: waits up to answer_wait for the worker to hand the answer over, then sends it,
    /// after any progress reported first ([PROG-2]); or lets the worker post it.
    void await_answer(const std::shared_ptr<call_state>& call) {
        const auto until = clock::now() + state_->options.answer_wait;
        while (call->handoff.load(std::memory_order_acquire) == answer_handoff::waiting &&
               clock::now() < until) {
            std::this_thread::yield();
        }
        auto expected = answer_handoff::waiting;
        if (call->handoff.compare_exchange_strong(expected, answer_handoff::abandoned,
                                                  std::memory_order_acq_rel)) {
            return; // the worker posts the answer
        }
        flush_progress(call);
        deliver_handed(call);
    }

    // ---- computing (worker threads) ----------------------------------------------------------

    class context final : public call_context {
    public:
        /// Both outlive the context, which lives as long as the processor runs.
        context(server_session& session, const std::shared_ptr<call_state>& call)
            : session_(session), call_(call) {}

        void report_progress(double fraction, std::string_view text) override {
            fraction = std::clamp(fraction, 0.0, 1.0);
            bool post_needed = false;
            {
                std::lock_guard<std::mutex> lock(call_->progress_mutex);
                fraction = std::max(fraction, call_->reported_fraction); // [PROG-1]
                call_->reported_fraction = fraction;
                post_needed = !call_->pending_progress.has_value();
                call_->pending_progress = progress_params{call_->id, fraction, std::string(text)};
            }
            if (post_needed) {
                asio::post(session_.stream_.get_executor(),
                           [session = session_.shared_from_this(), call = call_] {
                               session->flush_progress(call);
                           });
            }
        }

        bool cancelled() const noexcept override { return call_->stop_requested.load(); }

    private:
        server_session& session_;
        const std::shared_ptr<call_state>& call_;
    };

    /// Runs the processor and answers. On a worker, the answer is posted to the connection's
    /// executor, with the worker's reference to the call: the I/O thread, which made the call's
    /// state, lets go of it last, and Asio's cache of that thread takes its memory back for the
    /// next call. `on_io_thread`, the answer is sent at once.
    void compute(std::shared_ptr<call_state> call, bool on_io_thread) {
        call->started = true;
        if (call->stop_requested) { // answered before this worker took it
            return state_->finish_call();
        }
        // On the I/O thread the call runs as it is admitted: that reading serves as its start.
        const auto compute_start = on_io_thread ? call->admitted : clock::now();
        context ctx(*this, call);
        run_settings settings{version_, state_->options.expose_errors, {}};
        if (state_->options.log) {
            settings.log = [this](const std::string& line) { log(log_level::warning, line); };
        }
        std::optional<invoke_result> produced;
        response reply =
            run_processor(call->proc, ctx, call->id, call->params, settings, &produced);
        // The end of the computation is also the start of encoding: nothing runs between them
        // ([TIME-2]: `sending` covers that time, up to the start of encoding).
        const auto compute_end = clock::now();
        reply.timings = timings{seconds_between(call->received_first, call->received_last),
                                seconds_between(call->admitted, compute_start),
                                seconds_between(compute_start, compute_end), 0.0};
        std::error_code encode_error;
        const auto answer_options = detail::with_memfd(encode_options{response_codec()}, stream_);
        encoded_frame frame =
            produced ? encode_response(call->id, *produced, reply.timings, answer_options,
                                       encode_error, std::move(call->answer_head))
                     : encode_message(message(std::move(reply)), answer_options, encode_error);
        state_->finish_call();
        if (on_io_thread) {
            return deliver_computed(call, std::move(frame), encode_error);
        }
        // The answer goes in the call's slot, which the strand reads once handed it: the
        // hand-over carries only the connection and the call, without an allocation.
        call->handed_frame = std::move(frame);
        call->handed_error = encode_error;
        if (call->handoff.load(std::memory_order_acquire) == answer_handoff::waiting) {
            auto expected = answer_handoff::waiting;
            if (call->handoff.compare_exchange_strong(expected, answer_handoff::answered,
                                                      std::memory_order_acq_rel)) {
                return; // the waiting strand sends it
            }
            // it stopped waiting: hand it over
        }
        if (answers_batched_) {
            // With the answers handed over before it; progress reported before it is sent
            // first, whether or not its own handler already ran ([PROG-2]).
            return state_->hand_answer_over(
                [self = this->shared_from_this(), call = std::move(call)] {
                    self->flush_progress(call);
                    self->deliver_handed(call);
                });
        }
        // The hand-over: the strand alone writes ([PROG-2]: progress posted earlier runs first).
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this(), call = std::move(call)] {
                       self->deliver_handed(call);
                   });
    }

    /// Strand: deliver_computed with the answer a worker left in the call's slot.
    void deliver_handed(const std::shared_ptr<call_state>& call) {
        deliver_computed(call, std::move(call->handed_frame), call->handed_error);
    }

    /// Strand: the computation returned. A result ready after the deadline is too late, whether
    /// or not the deadline timer has fired yet (a call on the I/O thread has no timer) ([INV-6]).
    void deliver_computed(const std::shared_ptr<call_state>& call, encoded_frame frame,
                          std::error_code encode_error) {
        call->machine.on(call_event::start);
        if (call->params.deadline &&
            clock::now() - call->admitted >= to_duration(*call->params.deadline)) {
            step(call, call_event::deadline);
        }
        step(call, call_event::computed, &frame, encode_error);
    }

    codec response_codec() const {
        codec wanted = state_->options.response_compression;
        return codecs_.contains(wanted) ? wanted : codec::none;
    }

    // ---- completing calls (strand) ---------------------------------------------------------

    /// Strand: feeds `event` to the call's machine and carries its decision out. `computed` is
    /// the computation's encoded answer, for the `computed` event.
    void step(const std::shared_ptr<call_state>& call, call_event event,
              encoded_frame* computed = nullptr, std::error_code encode_error = {}) {
        if (call->started && call->machine.phase() == call_phase::queued) {
            call->machine.on(call_event::start);
        }
        const call_step next = call->machine.on(event);
        if (call->machine.stop_requested()) {
            call->stop_requested = true;
        }
        switch (next.action) {
        case call_action::request_stop: // [CANCEL-1], [CANCEL-3]
            call->grace_timer.emplace(stream_.get_executor());
            call->grace_timer->expires_after(
                to_duration(state_->options.receive_limits.cancel_grace));
            call->grace_timer->async_wait(
                [self = this->shared_from_this(), call](std::error_code timer_ec) {
                    if (!timer_ec) {
                        self->step(call, call_event::grace_expired);
                    }
                });
            return;
        case call_action::answer_computed:
            forget(call);
            if (phase_ == phase::closed) {
                return;
            }
            if (encode_error || !fits_peer(*computed)) { // [LIMIT-3]
                send(error_response(call->id, make_error_code(error::too_large),
                                    "result too large to send"),
                     true);
            } else if (outbox_.queue(std::move(*computed), true)) {
                write_next();
            }
            return finish_goodbye_if_drained();
        case call_action::answer_error: {
            forget(call);
            if (phase_ == phase::closed) {
                return;
            }
            const char* text = next.error == error::deadline_exceeded ? "deadline exceeded"
                               : next.error == error::shutting_down ? "the server is shutting down"
                                                                    : "call cancelled";
            send(error_response(call->id, next.error, text), true);
            return finish_goodbye_if_drained();
        }
        case call_action::discard:
            call->cancel_timers();
            return;
        default:
            return;
        }
    }

    /// The call is answered: its timers and its entry go.
    void forget(const std::shared_ptr<call_state>& call) {
        call->cancel_timers();
        if (auto entry = calls_.find(call->id); entry != calls_.end()) {
            calls_.erase(entry);
        }
        if (auto held = std::exchange(call->budgeted_bytes, 0)) {
            release_budget(held);
            schedule_resume();
        }
    }

    /// Lets a paused read ask the read gate again, from a fresh handler: never from inside the
    /// write or dispatch code that freed the budget.
    void schedule_resume() {
        if (stream_.reading_paused()) {
            budget_available();
        }
    }

    void cancel_call(const std::shared_ptr<call_state>& call) { step(call, call_event::cancel); }

    void flush_progress(const std::shared_ptr<call_state>& call) {
        std::optional<progress_params> progress;
        {
            std::lock_guard<std::mutex> lock(call->progress_mutex);
            progress.swap(call->pending_progress);
        }
        // [PROG-2]: the answer is handed over after the progress, so it has not been sent yet
        // unless the machine answered the call without waiting for the computation.
        if (!progress || call->machine.finished() || !send_progress_ || phase_ == phase::closed) {
            return; // [PROG-2], [CAP-3]
        }
        send(message(notification{"progress", to_value(*progress)}));
    }

    void finish_goodbye_if_drained() {
        if (!drained(phase_, calls_.size())) {
            return;
        }
        if (goodbye_id_) {
            response reply;
            reply.id = *goodbye_id_;
            reply.result = value(value::map{});
            send(message(std::move(reply)));
        }
        close_after_writes();
    }

    void drain(std::chrono::milliseconds grace) {
        if (phase_ == phase::closed) {
            return;
        }
        if (decide_shutdown(phase_) == connection_action::close) {
            return drop();
        }
        phase_ = phase::draining;
        if (!calls_.empty()) {
            shutdown_timer_.expires_after(grace);
            shutdown_timer_.async_wait([self = this->shared_from_this()](std::error_code ec) {
                if (!ec) {
                    std::vector<std::shared_ptr<call_state>> open; // step() may forget them
                    for (auto& entry : self->calls_) {
                        open.push_back(entry.second);
                    }
                    for (auto& call : open) {
                        self->step(call, call_event::shutdown);
                    }
                }
            });
        }
        finish_goodbye_if_drained();
    }

    // ---- writing ---------------------------------------------------------------------------

    void send_connection_error(std::error_code ec, std::string text, value details = {}) {
        send(error_response(std::nullopt, ec, std::move(text), std::move(details)));
    }

    /// `answers_call`: the message answers a call, which counts against `max_in_flight` until
    /// written ([LIMIT-2]); the answers to other requests count against the byte budget only.
    void send(const message& m, bool answers_call = false) {
        if (queue_message(m, answers_call)) {
            write_next();
        }
    }

    /// Encodes and queues a message; true if nothing was being written: then write_next().
    /// A response to a request that would exceed the peer's `max_frame`, `max_head` or
    /// `max_depth`, whatever its method, goes as `too_large` under the request's id instead
    /// ([LIMIT-11]).
    bool queue_message(const message& m, bool answers_call) {
        std::error_code ec;
        encoded_frame frame = encode_message(m, encode_options{}, ec);
        const auto* reply = std::get_if<response>(&m);
        bool answers_request = reply != nullptr && reply->id.has_value();
        if (answers_request && !ec && !fits_peer(frame)) {
            frame = encode_message(error_response(*reply->id, make_error_code(error::too_large),
                                                  "response too large to send"),
                                   encode_options{}, ec);
        }
        return !ec && outbox_.queue(std::move(frame), answers_call);
    }

    /// Within the peer's `max_frame`, `max_head` and `max_depth` ([LIMIT-1], [LIMIT-11]).
    bool fits_peer(const encoded_frame& frame) const {
        return frame.total_size() <= peer_limits_.max_frame &&
               frame.head().size() <= peer_limits_.max_head &&
               frame.head_depth_within(peer_limits_.max_depth);
    }

    // The write side: strand only (see the ownership rule at the top). The outbox decides;
    // these carry its decisions out.

    /// The front is written; its budget goes back and others may read on.
    void front_written() {
        std::vector<std::byte> head = outbox_.written().release_head();
        if (head.capacity() <= spare_head_capacity) { // an unusually large one goes
            spare_head_ = std::move(head);
        }
        release_budget(0);
        schedule_resume();
    }

    /// Writes queued frames at once while the socket takes them, and the first one it does not
    /// take in full asynchronously (the one write in progress on the socket).
    void write_next() {
        while (encoded_frame* front = outbox_.next_to_write()) {
            std::error_code ec;
            std::size_t written = stream_.write_frame_now(*front, ec);
            bytes_sent_ += written;
            if (ec) {
                return drop();
            }
            if (written < front->total_size()) {
                outbox_.begin_write();
                stream_.async_write_frame(*front, written,
                                          [self = this->shared_from_this(),
                                           written](std::error_code write_ec, std::size_t total) {
                                              self->bytes_sent_ +=
                                                  total > written ? total - written : 0;
                                              self->outbox_.end_write();
                                              if (write_ec || self->phase_ == phase::closed) {
                                                  self->abandon_writes();
                                                  return self->drop();
                                              }
                                              self->front_written();
                                              self->write_next();
                                          });
                return;
            }
            front_written();
        }
        if (outbox_.close_due()) {
            drop();
        }
    }

    /// Nothing more will be written; what waits is released, unless a write in progress still
    /// references the front: then once it ends.
    void abandon_writes() {
        if (outbox_.abandon()) {
            release_budget(0);
            schedule_resume();
        }
    }

    void close_after_writes() {
        reads_stopped_ = true;
        if (outbox_.close_after_writes()) {
            drop();
        }
    }

    /// [DROP-1]: the connection is gone; every call on it is cancelled.
    void drop() {
        if (phase_ == phase::closed) {
            return;
        }
        phase_ = phase::closed;
        std::uint64_t held_by_calls = 0;
        for (auto& entry : calls_) {
            step(entry.second, call_event::drop);
            held_by_calls += std::exchange(entry.second->budgeted_bytes, 0);
        }
        calls_.clear();
        release_budget(held_by_calls + budget_.take_frame_reservation());
        state_->forget_waiting_calls(id_);
        shutdown_timer_.cancel();
        refusal_timer_.cancel();
        watch_timer_.cancel();
        stream_.abandon_paused_read();
        abandon_writes();
        detail::close_stream(stream_.next_layer());
    }

    void log(log_level level, std::string_view line) const {
        if (state_->options.log) {
            state_->options.log(level, line);
        }
    }

    std::shared_ptr<server_state> state_;
    frame_stream<Stream> stream_;
    std::function<void()> on_closed_;
    phase phase_ = phase::awaiting_hello;
    /// Nothing more is read: the connection closes once its writes are done (refuse_later():
    /// once its refusal, queued later, is written).
    bool reads_stopped_ = false;
    std::uint64_t bytes_sent_ = 0;
    recycling_map<std::unordered_map<std::uint64_t, std::shared_ptr<call_state>>> calls_;
    std::optional<std::uint64_t> goodbye_id_;
    limits peer_limits_;
    codec_set codecs_;
    bool send_progress_ = false;
    protocol_version version_ = protocol_min; // negotiated in the handshake
    asio::steady_timer shutdown_timer_{stream_.get_executor()};
    asio::steady_timer refusal_timer_{stream_.get_executor()}; // a failed token's answer

    /// The connection runs on the server's one I/O thread, without a strand: workers hand its
    /// answers over with the other connections' (server_state::hand_answer_over).
    bool answers_batched_ = false;
    const std::uint64_t id_; // for the fair call queue
    const std::string address_;
    const std::optional<std::string> refusal_;
    /// The processor this connection called last, found again without a lookup if called again.
    const registered_processor* recent_processor_ = nullptr;
    connection_budget budget_;
    outbox outbox_{budget_}; // after the budget it adds to and releases from
    /// A written frame's head storage, for the next call's answer (call_state::answer_head).
    std::vector<std::byte> spare_head_;
    static constexpr std::size_t spare_head_capacity = 4096;
    connection_timeouts timeouts_;
    asio::steady_timer watch_timer_{stream_.get_executor()};
};

} // namespace slicerbridge::detail

#endif
