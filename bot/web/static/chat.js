/* The clinic chat widget: plain JavaScript and the vendored socket.io client, no build step.
 * It talks to Rasa's socket.io channel with a conversation token from the web app.
 * Every piece of message text is put on the page with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  const root = document.getElementById("chat");
  if (!root) {
    return;
  }
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const sendButton = document.getElementById("chat-send");
  const newButton = document.getElementById("chat-new");
  const suggestions = document.getElementById("chat-suggestions");
  const status = document.getElementById("chat-status");
  const sessionUrl = root.dataset.sessionUrl;
  const newUrl = root.dataset.newUrl;
  const socketUrl = root.dataset.socketUrl;
  const socketPath = root.dataset.socketPath;
  const unavailableText = root.dataset.unavailableText;
  const defaultHint = document.getElementById("chat-hint").textContent;

  const FACT_LABELS = {
    surgery_type: "Surgery",
    weeks_since_surgery: "Time since surgery",
    pain_course: "How the pain has changed",
    pain_return_weeks: "When the pain came back",
    symptoms: "Symptoms",
  };
  const VALUE_WORDS = {
    decompression: "Decompression (for example discectomy or laminectomy)",
    fusion: "Fusion",
    unknown: "Not sure",
    improving: "Slowly getting better",
    no_improvement: "No improvement",
    worse_since_surgery: "Worse since the surgery",
    relief_then_sudden_return: "Better at first, then it came back suddenly",
    relief_then_gradual_return: "Better at first, then it came back gradually",
    leg_pain: "leg pain",
    back_pain: "back pain",
    gnawing: "constant gnawing ache",
  };
  const FINDINGS = {
    too_early_to_judge: "It may be too early to judge the surgery",
    post_surgical_swelling: "Swelling around the nerve after surgery",
    on_track: "Recovery that seems on track",
    failed_decompression: "A decompression that did not bring relief",
    recurrent_disc_herniation: "A disc herniation that came back",
    epidural_fibrosis: "Scar tissue near the nerve (epidural fibrosis)",
    recurrent_stenosis: "Narrowing that came back (recurrent stenosis)",
    nerve_recovery_ongoing: "Nerves still recovering",
    permanent_nerve_damage_possible: "Possible lasting nerve damage",
    fusion_still_healing: "A fusion that is still healing",
    failed_fusion: "A fusion that did not set or hold",
    adjacent_segment_disease: "Wear next to the fusion (adjacent segment disease)",
    arachnoiditis: "Inflamed lining around the nerves (arachnoiditis)",
    no_specific_pattern: "No specific pattern",
  };
  const RED_FLAGS = {
    cauda_equina: "Bladder or bowel trouble, or numbness in the groin or seat area",
    progressive_weakness: "Leg weakness that is sudden or getting worse",
    infection: "Possible signs of infection",
    blood_clot: "Possible signs of a blood clot",
  };
  // Quick replies per asked fact: [what the chip says, what it sends]. Typing is always fine too.
  const ASK_CHIPS = {
    consent_to_schedule: [["Yes", "Yes"], ["No", "No"]],
    surgery_type: [
      ["Discectomy or laminectomy", "I had a discectomy or laminectomy"],
      ["Fusion", "I had a fusion"],
      ["Not sure", "I'm not sure which surgery I had"],
    ],
    pain_course: [
      ["Slowly getting better", "It's slowly getting better"],
      ["No better at all", "It has not got any better"],
      ["Worse than before", "It's worse than before the surgery"],
      ["Better, then back suddenly", "It got better, then the pain came back suddenly"],
      ["Better, then back gradually", "It got better, then the pain came back gradually"],
    ],
  };
  // The symptom question: tick any that fit, then send them as one answer.
  const SYMPTOM_CHOICES = [
    ["Leg pain", "leg pain"],
    ["Back pain", "back pain"],
    ["Burning", "burning"],
    ["A constant gnawing ache", "a constant gnawing ache"],
    ["Stinging", "stinging"],
    ["Numbness", "numbness"],
    ["Tingling (pins and needles)", "tingling"],
    ["Weakness", "weakness"],
  ];
  const ASK_HINTS = {
    weeks_since_surgery: 'For example: "6 weeks ago" or "March 3rd".',
    pain_return_weeks: 'For example: "about two months after the surgery".',
    patient_name: "Your first and last name.",
    phone: "A phone number we can call you back on.",
    preferred_time: 'For example: "weekday mornings".',
  };
  const ASK_INPUT = {
    patient_name: { autocomplete: "name", inputmode: "text" },
    phone: { autocomplete: "tel", inputmode: "tel" },
  };

  const STORE_KEY = "clinic-chat";
  const MAX_HISTORY = 300;
  const CONNECT_WAIT_MS = 10000;
  const TURN_TIMEOUT_MS = 45000;

  let busy = false;
  let socket = null;
  let ready = false;
  let readyWaiters = [];
  let taken = false;
  let conversation = null;
  let turn = null;
  let history = [];

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = String(text);
    }
    return node;
  }

  // Looks a code up in one of the tables above, ignoring inherited names like "constructor".
  function own(table, key) {
    return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
  }

  function words(code) {
    return own(VALUE_WORDS, code) || String(code).replace(/_/g, " ");
  }

  function weeks(value) {
    const rounded = Math.round(Number(value));
    return rounded === 1 ? "about 1 week" : "about " + rounded + " weeks";
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function addBubble(kind, text) {
    const bubble = el("div", "bubble bubble-" + kind);
    const speaker = { patient: "You said: ", bot: "Assistant: ", note: "" }[kind];
    if (speaker) {
      bubble.appendChild(el("span", "visually-hidden", speaker));
    }
    bubble.appendChild(document.createTextNode(String(text)));
    log.appendChild(bubble);
    scrollToEnd();
    return bubble;
  }

  function addCard(card) {
    log.appendChild(card);
    scrollToEnd();
  }

  function factText(name, value) {
    if (value === null || value === undefined || value === "") {
      return "Not known";
    }
    if (name === "weeks_since_surgery") {
      return weeks(value) + " ago";
    }
    if (name === "pain_return_weeks") {
      return weeks(value) + " after the surgery";
    }
    if (Array.isArray(value)) {
      return value.length ? value.map(words).join(", ") : "None mentioned";
    }
    return words(value);
  }

  function assessmentCard(payload) {
    const card = el("section", "card card-assessment");
    card.setAttribute("aria-label", "Summary of what you told us");
    card.appendChild(el("h3", "", "What you told us"));
    const facts = payload.facts && typeof payload.facts === "object" ? payload.facts : {};
    const list = el("dl");
    Object.keys(FACT_LABELS).forEach(function (name) {
      if (Object.prototype.hasOwnProperty.call(facts, name)) {
        list.appendChild(el("dt", "", FACT_LABELS[name]));
        list.appendChild(el("dd", "", factText(name, facts[name])));
      }
    });
    card.appendChild(list);
    const findings = Array.isArray(payload.findings) ? payload.findings : [];
    if (findings.length) {
      card.appendChild(el("h4", "", "Possible causes to talk over with the doctor"));
      const causes = el("ul");
      findings.forEach(function (code) {
        causes.appendChild(el("li", "", own(FINDINGS, code) || words(code)));
      });
      card.appendChild(causes);
    }
    return card;
  }

  function emergencyCard(payload) {
    const card = el("section", "card card-alert");
    card.setAttribute("role", "alert");
    card.appendChild(el("h3", "", "Urgent: please get medical help now"));
    card.appendChild(
      el("p", "", "Follow the assistant's instructions in this conversation right away. " +
        "If you cannot reach anyone, call 911.")
    );
    const flags = Array.isArray(payload.red_flags) ? payload.red_flags : [];
    if (flags.length) {
      const list = el("ul");
      flags.forEach(function (code) {
        list.appendChild(el("li", "", own(RED_FLAGS, code) || words(code)));
      });
      card.appendChild(list);
    }
    return card;
  }

  function confirmationCard(payload) {
    const card = el("section", "card card-confirm");
    card.setAttribute("role", "status");
    card.appendChild(el("h3", "", "Your appointment request was sent"));
    const line = el("p", "", "Reference number: ");
    line.appendChild(el("span", "request-id", payload.request_id || ""));
    card.appendChild(line);
    card.appendChild(el("p", "", "The clinic will contact you to confirm a time."));
    return card;
  }

  function clearSuggestions() {
    while (suggestions.firstChild) {
      suggestions.removeChild(suggestions.firstChild);
    }
    suggestions.hidden = true;
  }

  function addChip(label, text) {
    const chip = el("button", "chip", label);
    chip.type = "button";
    chip.addEventListener("click", function () {
      send(text);
    });
    suggestions.appendChild(chip);
  }

  function spokenList(items) {
    if (items.length < 2) {
      return items.join("");
    }
    return items.slice(0, -1).join(", ") + " and " + items[items.length - 1];
  }

  function addSymptomPicker() {
    const group = el("fieldset", "symptom-pick");
    group.appendChild(el("legend", "", "Tick any that fit:"));
    const boxes = SYMPTOM_CHOICES.map(function (choice, index) {
      const label = el("label", "symptom-choice");
      const box = el("input");
      box.type = "checkbox";
      box.id = "chat-symptom-" + index;
      box.value = choice[1];
      label.htmlFor = box.id;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + choice[0]));
      group.appendChild(label);
      return box;
    });
    const use = el("button", "chip", "Send these");
    use.type = "button";
    use.addEventListener("click", function () {
      const ticked = boxes.filter(function (box) {
        return box.checked;
      }).map(function (box) {
        return box.value;
      });
      if (!ticked.length) {
        boxes[0].focus();
        return;
      }
      send("I have " + spokenList(ticked));
    });
    group.appendChild(use);
    suggestions.appendChild(group);
    addChip("None of these", "None of these");
  }

  function addDatePicker() {
    const wrap = el("div", "date-pick");
    const label = el("label", "", "Or pick the date of your surgery:");
    label.htmlFor = "chat-surgery-date";
    const picker = el("input");
    picker.type = "date";
    picker.id = "chat-surgery-date";
    picker.max = new Date().toISOString().slice(0, 10);
    const use = el("button", "chip", "Use this date");
    use.type = "button";
    use.addEventListener("click", function () {
      if (!picker.value) {
        picker.focus();
        return;
      }
      const day = new Date(picker.value + "T00:00:00");
      const spoken = day.toLocaleDateString("en-US", {
        month: "long", day: "numeric", year: "numeric",
      });
      send("My surgery was on " + spoken);
    });
    wrap.appendChild(label);
    wrap.appendChild(picker);
    wrap.appendChild(use);
    suggestions.appendChild(wrap);
  }

  function prepareInput(slot) {
    const hint = document.getElementById("chat-hint");
    const slotHint = own(ASK_HINTS, slot);
    hint.textContent = slotHint ? slotHint + " " + defaultHint : defaultHint;
    const attributes = own(ASK_INPUT, slot) || { autocomplete: "off", inputmode: "text" };
    input.setAttribute("autocomplete", attributes.autocomplete);
    input.setAttribute("inputmode", attributes.inputmode);
  }

  // One bot message as it arrives: a bubble, a card, or what the next chips will be.
  function renderBotMessage(message, live) {
    if (!message || typeof message !== "object") {
      return;
    }
    if (typeof message.text === "string" && message.text) {
      addBubble("bot", message.text);
    }
    const buttons = Array.isArray(message.quick_replies) ? message.quick_replies :
      (Array.isArray(message.buttons) ? message.buttons : []);
    if (live && buttons.length) {
      turn.buttons = buttons.filter(function (button) {
        return button && typeof button === "object" && button.title;
      });
    }
    const custom = message.custom;
    if (!custom || typeof custom !== "object") {
      return;
    }
    if (custom.type === "ask") {
      if (live) {
        turn.askedSlot = typeof custom.slot === "string" ? custom.slot : null;
      }
    } else if (custom.type === "assessment") {
      addCard(assessmentCard(custom));
    } else if (custom.type === "emergency") {
      const card = emergencyCard(custom);
      addCard(card);
      card.scrollIntoView({ block: "nearest" });
    } else if (custom.type === "appointment_requested") {
      addCard(confirmationCard(custom));
    }
  }

  // The turn is over: offer its quick replies (sent as their titles, never as "/intent").
  function showSuggestions(buttons, askedSlot) {
    clearSuggestions();
    if (buttons.length) {
      buttons.forEach(function (button) {
        addChip(String(button.title), String(button.title));
      });
    } else if (own(ASK_CHIPS, askedSlot)) {
      own(ASK_CHIPS, askedSlot).forEach(function (chip) {
        addChip(chip[0], chip[1]);
      });
    } else if (askedSlot === "symptoms") {
      addSymptomPicker();
    }
    if (askedSlot === "weeks_since_surgery") {
      addDatePicker();
    }
    suggestions.hidden = !suggestions.firstChild;
    prepareInput(askedSlot);
  }

  function setBusy(value) {
    busy = value;
    sendButton.disabled = value;
    root.setAttribute("aria-busy", value ? "true" : "false");
    status.textContent = value ? "The assistant is writing…" : "";
  }

  // --- What this tab has shown, kept for a reload (sessionStorage ends with the tab). ---

  function saveHistory() {
    try {
      window.sessionStorage.setItem(STORE_KEY, JSON.stringify({
        conversation: conversation,
        items: history.slice(-MAX_HISTORY),
      }));
    } catch (error) {
      // Storage full or switched off: the conversation goes on, a reload starts it blank.
    }
  }

  function forgetHistory() {
    history = [];
    try {
      window.sessionStorage.removeItem(STORE_KEY);
    } catch (error) {
      // Nothing stored.
    }
  }

  function restoreHistory(confirmed) {
    let stored = null;
    try {
      stored = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
    } catch (error) {
      stored = null;
    }
    if (!stored || stored.conversation !== confirmed || !Array.isArray(stored.items)) {
      forgetHistory();
      return;
    }
    history = stored.items;
    if (log.firstChild) {
      return;
    }
    history.forEach(function (item) {
      if (item && item.who === "patient") {
        addBubble("patient", item.text);
      } else if (item && item.who === "bot") {
        renderBotMessage(item.message, false);
      }
    });
    if (history.length) {
      addBubble("note", "Welcome back. Your conversation continues here.");
    }
  }

  function clearLog() {
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    clearSuggestions();
    prepareInput(null);
  }

  // --- The socket to Rasa's socket.io channel. ---

  async function post(url) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Requested-With": "XMLHttpRequest",
      },
      body: "{}",
    });
  }

  // A signed token for this browser's conversation, from the web app.
  async function fetchToken(url) {
    const response = await post(url);
    const data = response.ok ? await response.json() : null;
    if (!data || typeof data.token !== "string") {
      throw new Error("no token");
    }
    return data.token;
  }

  function setReady(value) {
    ready = value;
    if (value) {
      const waiting = readyWaiters;
      readyWaiters = [];
      waiting.forEach(function (resolve) {
        resolve(true);
      });
    }
  }

  function whenReady(milliseconds) {
    if (ready) {
      return Promise.resolve(true);
    }
    return new Promise(function (resolve) {
      readyWaiters.push(resolve);
      window.setTimeout(function () {
        resolve(ready);
      }, milliseconds);
    });
  }

  function requestSession(token) {
    setReady(false);
    socket.emit("session_request", { session_id: token });
  }

  function endTurn(ok) {
    if (!turn) {
      return;
    }
    window.clearTimeout(turn.timer);
    const finished = turn;
    turn = null;
    if (!ok) {
      addBubble("bot", unavailableText);
    }
    showSuggestions(finished.buttons, finished.askedSlot);
    setBusy(false);
  }

  function connect() {
    if (typeof window.io !== "function") {
      addBubble("note", unavailableText);
      return;
    }
    socket = window.io(socketUrl, {
      path: socketPath,
      transports: ["websocket", "polling"],
      autoConnect: false,
      reconnectionDelayMax: 10000,
    });
    socket.on("connect", async function () {
      try {
        requestSession(await fetchToken(sessionUrl));
      } catch (error) {
        status.textContent = unavailableText;
      }
    });
    socket.on("session_confirm", function (confirmed) {
      if (typeof confirmed !== "string") {
        return;
      }
      if (conversation !== confirmed) {
        restoreHistory(confirmed);
      }
      conversation = confirmed;
      taken = false;
      setReady(true);
      if (!busy) {
        status.textContent = "";
      }
    });
    socket.on("bot_uttered", function (message) {
      if (!turn) {
        turn = { buttons: [], askedSlot: null, timer: 0 };
      }
      renderBotMessage(message, true);
      history.push({ who: "bot", message: message });
      saveHistory();
    });
    socket.on("turn_complete", function (data) {
      endTurn(!(data && data.ok === false));
    });
    socket.on("session_taken", function () {
      taken = true;
      setReady(false);
      addBubble("note", "This conversation is now open in another window or tab. " +
        "To go on here, start a new conversation.");
    });
    socket.on("disconnect", function () {
      setReady(false);
      endTurn(false);
    });
    socket.on("connect_error", function () {
      setReady(false);
      if (!busy) {
        status.textContent = "Trying to reach the assistant…";
      }
    });
    socket.connect();
  }

  async function send(text) {
    const message = String(text).trim();
    if (busy || !message) {
      return;
    }
    clearSuggestions();
    setBusy(true);
    if (!ready) {
      status.textContent = "Connecting to the assistant…";
    }
    if (!(await whenReady(CONNECT_WAIT_MS))) {
      setBusy(false);
      addBubble("bot", taken ? "Please start a new conversation to go on here." : unavailableText);
      return;
    }
    status.textContent = "The assistant is writing…";
    addBubble("patient", message);
    history.push({ who: "patient", text: message });
    saveHistory();
    turn = {
      buttons: [],
      askedSlot: null,
      timer: window.setTimeout(function () {
        endTurn(false);
      }, TURN_TIMEOUT_MS),
    };
    socket.emit("user_uttered", { message: message });
  }

  function submitInput() {
    const text = input.value;
    if (busy || !text.trim()) {
      input.focus();
      return;
    }
    input.value = "";
    send(text);
    input.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitInput();
    }
  });

  newButton.addEventListener("click", async function () {
    if (busy || !socket) {
      return;
    }
    setBusy(true);
    try {
      const token = await fetchToken(newUrl);
      forgetHistory();
      conversation = null;
      clearLog();
      if (socket.connected) {
        requestSession(token);
      } else {
        socket.connect();
      }
      addBubble("note", "A new conversation has started.");
    } catch (error) {
      addBubble("note", "A new conversation could not be started. " + unavailableText);
    } finally {
      setBusy(false);
      input.focus();
    }
  });

  connect();
})();
