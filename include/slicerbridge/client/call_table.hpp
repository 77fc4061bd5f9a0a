#ifndef SLICERBRIDGE_CLIENT_CALL_TABLE_HPP
#define SLICERBRIDGE_CLIENT_CALL_TABLE_HPP
// The client's calls in flight as a state machine without I/O: what to do when a call is sent,
// held beyond the server's max_in_flight, answered, reported on, cancelled, given up on or cut
// off by the connection (spec sections 5, 6.4 to 6.6, 7). The client carries its actions out;
// spec/vectors/client_call_table.json holds the cases every client runs against its own table.

#include <slicerbridge/detail/recycling_map.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/limits.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace slicerbridge {

/// Identifies a call in flight, for `cancel`.
using call_id = std::uint64_t;

namespace detail {

/// What the client does next.
struct call_table_action {
    enum class kind {
        send_request,     ///< write the call's request
        hold_request,     ///< keep the call's request unsent, until a send_request for it
        arm_timer,        ///< start the call's give-up timer, `seconds` long
        disarm_timer,     ///< stop the call's give-up timer
        send_cancel,      ///< write a `cancel` notification for the call
        deliver_progress, ///< hand `fraction` to the call's progress callback
        complete,         ///< complete the call with `error` (none: with the response's result)
        report,           ///< report a violation of `requirement` by the server; `what` says it
    };
    kind what_to_do = kind::report;
    call_id id = 0;
    std::error_code error;
    double seconds = 0.0;
    double fraction = 0.0;
    std::string_view requirement;
    std::string_view what;
};

/// The calls open on one connection ([MSG-1]). Each event hands its actions, in order, to
/// `act(const call_table_action&)`; the table never performs I/O, keeps no clock and allocates only
/// for its map of open calls (and reuses the entries of calls that ended).
class call_table {
public:
    /// The server listed `cancel`: without it no cancel is sent ([CANCEL-5]).
    void set_cancel_in_force(bool in_force) { cancel_in_force_ = in_force; }

    /// The server's `max_in_flight`: an invoke beyond it is held, unsent, until one of the open
    /// invokes ends ([LIMIT-13]).
    void set_max_in_flight(std::uint64_t calls) { max_in_flight_ = calls; }

    /// Calls open or held now.
    std::size_t size() const { return open_.size(); }
    /// The call was sent and is not answered yet.
    bool is_open(call_id id) const {
        auto found = open_.find(id);
        return found != open_.end() && !found->second.held;
    }

    /// The caller took id `id` for a call it starts later, so that it can cancel the call
    /// before knowing whether it has started: a cancel before the start fails the call with
    /// `cancelled` when it starts, and nothing is sent.
    void reserve(call_id id) { reserved_.emplace(id, false); }

    /// A call of `method` starts. `give_up_after`: seconds after which the client stops
    /// waiting for an answer on its own (the server's deadline plus its grace), if any.
    template <class Act>
    void start(call_id id, std::string_view method, std::optional<double> give_up_after,
               Act&& act) {
        bool cancelled_before_start = false;
        if (auto reserved = reserved_.empty() ? reserved_.end() : reserved_.find(id);
            reserved != reserved_.end()) {
            cancelled_before_start = reserved->second;
            reserved_.erase(reserved);
        }
        if (lost_) {
            return act(completion(id, lost_));
        }
        if (open_.count(id) != 0) { // [MSG-1]: the open call is not affected
            return act(completion(id, make_error_code(error::duplicate_id)));
        }
        if (cancelled_before_start) {
            return act(completion(id, make_error_code(error::cancelled)));
        }
        const bool is_invoke = method == "invoke";
        open_call& call = open_.emplace_new(id)->second;
        call.is_invoke = is_invoke;
        // [LIMIT-13]; a goodbye waits for the calls held before it ([BYE-1])
        if ((is_invoke && open_invokes_ >= max_in_flight_) ||
            (method == "goodbye" && !held_.empty())) {
            call.held = true;
            call.hold_number = ++holds_;
            held_.emplace_back(id, call.hold_number);
            act(with_id(call_table_action::kind::hold_request, id));
        } else {
            open_invokes_ += is_invoke ? 1 : 0;
            act(with_id(call_table_action::kind::send_request, id));
        }
        if (give_up_after) {
            call.timer_armed = true;
            call_table_action arm = with_id(call_table_action::kind::arm_timer, id);
            arm.seconds = *give_up_after;
            act(arm);
        }
    }

    /// The call's request could not be written: it fails with `failure`.
    template <class Act>
    void on_send_failed(call_id id, std::error_code failure, Act&& act) {
        auto found = open_.find(id);
        if (found != open_.end()) {
            finish(found, failure, act);
        }
    }

    /// A response arrived: `id` nil for a connection-level error, `server_error` its error code
    /// (none for a result). `malformed`: the response (or its bulk) was invalid ([MSG-15],
    /// [BULK-9]); `server_error` then says how.
    template <class Act>
    void on_response(std::optional<call_id> id, std::error_code server_error, bool malformed,
                     Act&& act) {
        if (!id) { // [MSG-17]
            return act(report("MSG-17", "a connection-level error from the server"));
        }
        auto found = open_.find(*id);
        if (found == open_.end() || found->second.held) { // [MSG-8]
            return act(report("MSG-8", "a response to an id that is not open"));
        }
        if (malformed) {
            act(report("MSG-15", "a malformed response"));
        }
        finish(found, server_error, act);
    }

    /// A well-formed progress notification arrived ([PROG-1], [PROG-2], [PROG-3]).
    template <class Act>
    void on_progress(call_id id, double fraction, Act&& act) {
        auto found = open_.find(id);
        if (found == open_.end() || !found->second.is_invoke || found->second.held) {
            return act(report("PROG-3", "progress for an id that is not an open invoke"));
        }
        open_call& call = found->second;
        if (fraction < call.last_fraction) { // the server broke its word: the call fails
            act(report("PROG-1", "a progress fraction that decreased"));
            cancel(found, act);
            return finish(found, make_error_code(error::invalid_message), act);
        }
        call.last_fraction = fraction;
        call_table_action deliver = with_id(call_table_action::kind::deliver_progress, id);
        deliver.fraction = fraction;
        act(deliver);
    }

    /// The caller asks to cancel call `id` ([CANCEL-1]); it still gets one answer ([CANCEL-2]).
    template <class Act>
    void on_cancel_requested(call_id id, Act&& act) {
        auto found = open_.find(id);
        if (found != open_.end() && found->second.held) { // never sent: nothing to stop
            finish(found, make_error_code(error::cancelled), act);
        } else if (found != open_.end()) {
            cancel(found, act);
        } else if (auto reserved = reserved_.find(id); reserved != reserved_.end()) {
            reserved->second = true;
        }
    }

    /// The give-up timer of call `id` fired: the call fails with deadline_exceeded, and the
    /// server is asked to stop it.
    template <class Act>
    void on_give_up(call_id id, Act&& act) {
        auto found = open_.find(id);
        if (found == open_.end()) {
            return; // answered while the timer was firing
        }
        found->second.timer_armed = false;
        cancel(found, act);
        finish(found, make_error_code(error::deadline_exceeded), act);
    }

    /// The connection is gone: every open or held call fails with `reason`, in the order of
    /// their ids, and so does every call started later ([DROP-1]).
    template <class Act>
    void on_connection_lost(std::error_code reason, Act&& act) {
        if (lost_) {
            return;
        }
        lost_ = reason ? reason : make_error_code(std::errc::not_connected);
        std::vector<call_id> ids;
        ids.reserve(open_.size());
        for (const auto& entry : open_) {
            ids.push_back(entry.first);
        }
        held_.clear();
        std::sort(ids.begin(), ids.end());
        for (call_id id : ids) {
            auto found = open_.find(id);
            if (found != open_.end()) { // an action may have re-entered the table
                finish(found, lost_, act);
            }
        }
    }

private:
    struct open_call {
        bool is_invoke = false;
        bool held = false; // not sent yet: the open invokes were at max_in_flight
        bool timer_armed = false;
        bool cancel_sent = false;
        double last_fraction = 0.0;
        std::uint64_t hold_number = 0; // its entry in held_, while held
    };
    using iterator = recycling_map<std::unordered_map<call_id, open_call>>::iterator;

    static call_table_action with_id(call_table_action::kind kind, call_id id) {
        call_table_action action;
        action.what_to_do = kind;
        action.id = id;
        return action;
    }

    static call_table_action completion(call_id id, std::error_code ec) {
        call_table_action action = with_id(call_table_action::kind::complete, id);
        action.error = ec;
        return action;
    }

    static call_table_action report(std::string_view requirement, std::string_view what) {
        call_table_action action;
        action.requirement = requirement;
        action.what = what;
        return action;
    }

    template <class Act>
    void cancel(iterator found, Act& act) {
        if (cancel_in_force_ && !found->second.cancel_sent && !found->second.held) {
            found->second.cancel_sent = true;
            act(with_id(call_table_action::kind::send_cancel, found->first));
        }
    }

    /// Ends a call. An open invoke that ends frees its place for the oldest held call, which is
    /// sent before the ended call completes: a call started from that completion comes after it.
    template <class Act>
    void finish(iterator found, std::error_code ec, Act& act) {
        const call_id id = found->first;
        const bool timer_armed = found->second.timer_armed;
        if (found->second.is_invoke && !found->second.held) {
            --open_invokes_;
        }
        open_.erase(found);
        send_held(act);
        if (timer_armed) {
            act(with_id(call_table_action::kind::disarm_timer, id));
        }
        act(completion(id, ec));
    }

    /// Sends the held calls that may go now, oldest first: invokes while fewer than
    /// max_in_flight are open, and a goodbye once every call before it has gone.
    template <class Act>
    void send_held(Act& act) {
        while (!lost_ && !held_.empty()) {
            const auto [id, hold_number] = held_.front();
            auto found = open_.find(id);
            if (found == open_.end() || !found->second.held ||
                found->second.hold_number != hold_number) { // ended while held
                held_.pop_front();
                continue;
            }
            if (found->second.is_invoke && open_invokes_ >= max_in_flight_) {
                return;
            }
            held_.pop_front();
            found->second.held = false;
            open_invokes_ += found->second.is_invoke ? 1 : 0;
            act(with_id(call_table_action::kind::send_request, id));
        }
    }

    recycling_map<std::unordered_map<call_id, open_call>> open_; // and the held calls
    std::deque<std::pair<call_id, std::uint64_t>> held_;         // oldest first: id and hold_number
    std::uint64_t holds_ = 0;
    std::uint64_t open_invokes_ = 0;
    std::uint64_t max_in_flight_ = limits{}.max_in_flight;
    std::unordered_map<call_id, bool> reserved_; // not started yet; true: cancelled meanwhile
    std::error_code lost_;
    bool cancel_in_force_ = false;
};

} // namespace detail
} // namespace slicerbridge

#endif
