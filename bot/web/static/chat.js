/* The clinic chat widget: plain JavaScript, no build step.
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
  const sendUrl = root.dataset.sendUrl;
  const newUrl = root.dataset.newUrl;
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
  const ASK_CHIPS = {
    consent_to_schedule: ["Yes", "No"],
  };
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

  let busy = false;

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

  function renderTurn(messages) {
    let buttons = [];
    let askedSlot = null;
    messages.forEach(function (message) {
      if (!message || typeof message !== "object") {
        return;
      }
      if (typeof message.text === "string" && message.text) {
        addBubble("bot", message.text);
      }
      if (Array.isArray(message.buttons) && message.buttons.length) {
        buttons = message.buttons;
      }
      const custom = message.custom;
      if (!custom || typeof custom !== "object") {
        return;
      }
      if (custom.type === "ask") {
        askedSlot = custom.slot;
      } else if (custom.type === "assessment") {
        addCard(assessmentCard(custom));
      } else if (custom.type === "emergency") {
        const card = emergencyCard(custom);
        addCard(card);
        card.scrollIntoView({ block: "nearest" });
      } else if (custom.type === "appointment_requested") {
        addCard(confirmationCard(custom));
      }
    });
    clearSuggestions();
    if (buttons.length) {
      // Quick replies send their title as text: typed text can never carry "/intent".
      buttons.forEach(function (button) {
        addChip(String(button.title), String(button.title));
      });
    } else if (own(ASK_CHIPS, askedSlot)) {
      own(ASK_CHIPS, askedSlot).forEach(function (label) {
        addChip(label, label);
      });
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

  async function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Requested-With": "XMLHttpRequest",
      },
      body: JSON.stringify(body),
    });
  }

  async function send(text) {
    const message = String(text).trim();
    if (busy || !message) {
      return;
    }
    clearSuggestions();
    addBubble("patient", message);
    setBusy(true);
    try {
      const response = await post(sendUrl, { message: message });
      let data = null;
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
      if (data && Array.isArray(data.messages)) {
        renderTurn(data.messages);
      } else {
        addBubble("bot", unavailableText);
      }
    } catch (error) {
      addBubble("bot", unavailableText);
    } finally {
      setBusy(false);
    }
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
    if (busy) {
      return;
    }
    setBusy(true);
    try {
      const response = await post(newUrl, {});
      if (!response.ok) {
        throw new Error("refused");
      }
      while (log.firstChild) {
        log.removeChild(log.firstChild);
      }
      clearSuggestions();
      prepareInput(null);
      addBubble("note", "A new conversation has started.");
    } catch (error) {
      addBubble("note", "A new conversation could not be started. " + unavailableText);
    } finally {
      setBusy(false);
      input.focus();
    }
  });
})();
