/**
 * Prompt-injection heuristics over text an agent is about to read: an egress
 * response (`dlp.inbound`) or what the git-gate serves on a fetch. Reports
 * only; the caller decides (warn, hold, block, log).
 */
/**
 * Prompt-injection heuristics, by family. Each needs a combination (an
 * override verb AND a reference to instructions; an authority marker at the
 * start of a line; a hidden block AND instruction words), so documentation
 * that merely says "ignore", "override" or "execute" stays clean.
 */
const OVERRIDE =
  /\b(?:ignore|disregard|forget|override|bypass|skip|neglect|abandon)\s+(?:all\s+|any\s+|every\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+|those\s+)?(?:previous|prior|above|earlier|preceding|original|initial|system|safety|existing)\s+(?:instructions?|prompts?|directions?|rules|context|guidelines|guidance|guardrails|constraints|orders|commands|programming|messages)/i;
/** `Ignore the instructions above`, `disregard your rules given before`. */
const OVERRIDE_AFTER =
  /\b(?:ignore|disregard|forget|override|bypass|skip|neglect)\s+(?:all\s+)?(?:of\s+)?(?:the|your|my|these|those|any)\s+(?:instructions?|prompts?|directions?|rules|guidelines|guidance|orders|commands)\s+(?:above|before|earlier|previously|so\s+far|(?:you\s+(?:were|have\s+been\s+)?)?given)/i;
/** `Ignore everything above`, `forget what you were told before`, `disregard all of the above`. */
const OVERRIDE_ALL =
  /\b(?:ignore|disregard|forget)\s+(?:(?:all|everything|anything)(?:\s+(?:of\s+)?(?:the|that|you\s+(?:were|have\s+been)\s+(?:told|given)))?\s+(?:above|before|so\s+far|previously|earlier)|what\s+you\s+(?:were|have\s+been)\s+(?:told|given|instructed)(?:\s+(?:before|earlier|previously|so\s+far))?)\b/i;
/** Names an injection calls the model that reads the page by. */
const AI_NAME = '(?:AI|A\\.I\\.|LLMs?|(?:large\\s+)?language\\s+models?|models?|agents?|assistants?|chat\\s*bots?|bots?|GPT|ChatGPT|Claude|Codex|Copilot|Gemini)';
/** `Note to AI researchers`, `for Copilot users`: people, not the model. */
const NOT_A_GROUP = '(?!\\s+(?:researchers?|developers?|engineers?|teams?|companies|industry|ethics|safety|policy|policies|users?|customers?|vendors?|providers?|models?|systems?|tools?|products?|services?|features?|projects?|training|integration))';
const INJECTION: readonly (readonly [string, RegExp])[] = [
  ['ignore-previous-instructions', OVERRIDE],
  ['ignore-previous-instructions', OVERRIDE_ALL],
  ['ignore-previous-instructions', OVERRIDE_AFTER],
  ['do-not-follow', /\bdo\s+not\s+(?:follow|obey)\s+(?:the\s+|your\s+|any\s+)?(?:previous|prior|original|system|user'?s?)\s+(?:instructions|prompt|rules)/i],
  // Not `You are now in the project directory`: a new identity, a mode, or rules dropped.
  [
    'you-are-now',
    /\byou\s+are\s+now\s+(?:DAN\b|no\s+longer\s+(?:bound|restricted|limited|an?\s+(?:AI|assistant|model))|free\s+(?:from|of)\b|unrestricted|unfiltered|jailbroken|in\s+(?:developer|god|jailbreak|unrestricted|maintenance|debug|admin|sudo)\s+mode|an?\s+(?:unfiltered|unrestricted|uncensored|evil|rogue|different|new)\s+(?:AI|assistant|model|chatbot|agent)|(?:acting\s+as|playing)\s+)/i,
  ],
  // Not `From now on, you will see the new dashboard`: how the model is to behave.
  [
    'from-now-on',
    /\bfrom\s+now\s+on,?\s+(?:you|the\s+(?:assistant|agent|model))\s+(?:(?:will|must|shall|should|are\s+to)\s+(?:only\s+|always\s+|never\s+|not\s+)?(?:respond|reply|answer|act|behave|ignore|obey|follow|pretend|speak|output|refuse|comply|be\s+(?:DAN|unrestricted|unfiltered))|are\s+(?:now\s+)?(?:DAN\b|no\s+longer\b|unrestricted|unfiltered|jailbroken|free\s+(?:from|of)\b|an?\s+(?:unfiltered|unrestricted|uncensored|evil|rogue|different|new)\s+))/i,
  ],
  ['system-prompt', /\b(?:reveal|print|show|repeat|output|leak)\s+(?:your|the)\s+(?:system\s+prompt|hidden\s+instructions|initial\s+instructions)/i],
  // Asked of the model about its own setup: `what is your system prompt`, `repeat your original instructions verbatim`.
  [
    'system-prompt',
    /\byour\s+(?<=\b(?:what\s+(?:is|are|was|were)|(?:reveal|print|show|repeat|output|leak|display|dump|recite|disclose|share|provide|paste|echo|tell\s+me|give\s+me|write\s+(?:out|down))(?:\s+me)?(?:\s+all(?:\s+of)?)?)\s+your\s+)(?:full\s+|exact\s+|entire\s+|complete\s+)?(?:system\s+(?:prompt|message|instructions)|(?:initial|original|hidden|secret|internal|underlying|pre-?)\s*(?:prompt|instructions|directives|system\s+message)|prompt\s+(?:verbatim|word\s+for\s+word))\b/i,
  ],
  ['new-instructions', /\b(?:new|updated|revised|real|actual)\s+instructions\s*:/i],
  ['new-instructions', /\byour\s+(?:new|real|actual|true|updated)\s+(?:instructions|task|goal|objective|mission|purpose|orders)\s+(?:is|are)\b/i],
  ['new-instructions', /(?:^|[.!?]\s+|\n)\s*new\s+(?:task|instructions?|objective)\s*:\s*(?:you|ignore|forget|delete|remove|send|upload|run|execute|push|print|reveal)\b/i],
  ['authority-impersonation', /(?:^|\n)\s*(?:\[\s*(?:SYSTEM|ADMIN|DEVELOPER)(?:\s+(?:OVERRIDE|MESSAGE|NOTE))?\s*\]|<\|im_start\|>\s*system|<\/?system>|#{2,}\s*(?:system|instruction)s?\s*:|(?:SYSTEM|ADMIN)\s+(?:OVERRIDE|MESSAGE)\s*:)/i],
  ['authority-impersonation', /\b(?:message|instructions?|note|request|order)\s+(?:from|by)\s+(?:the\s+|your\s+)?(?:system\s+administrator|administrator|admin|repository\s+owner|repo\s+owner|project\s+owner|maintainers?|owner|operator|your\s+(?:user|developer)|developers?\s+of\s+(?:this|the)\s+(?:assistant|agent|model)|anthropic|openai)\s*:/i],
  ['authority-impersonation', /\b(?:the\s+)?(?:user|owner|admin(?:istrator)?|maintainer|operator)\s+has\s+(?:already\s+)?(?:authori[sz]ed|permitted|allowed|approved|granted)\s+(?:you|the\s+(?:assistant|agent|AI))\s+(?:to\b|permission)/i],
  ['authority-impersonation', /(?:^|\n)[ \t]*(?:SYSTEM|ADMIN|ADMINISTRATOR|DEVELOPER|OPERATOR)[ \t]*:[ \t]*(?:you\b|your\b|ignore\b|forget\b|new\s+instructions|the\s+(?:assistant|agent|AI)\b)/],
  ['authority-impersonation', /\b(?:BEGIN|START)\s+(?:SYSTEM\s+(?:PROMPT|MESSAGE|INSTRUCTIONS?)|(?:NEW\s+)?INSTRUCTIONS|ADMIN\s+(?:MESSAGE|OVERRIDE))\b/],
  // The end of the real prompt faked, so what follows reads as the system's: `=== END OF USER INPUT ===`, `</document><system>`.
  [
    'delimiter-injection',
    /\b(?:END|CLOSE)\s+OF\s+(?:THE\s+)?(?:SYSTEM\s+PROMPT|PROMPT|INSTRUCTIONS|USER\s+(?:INPUT|MESSAGE|QUERY|DATA)|CONTEXT|DOCUMENT|UNTRUSTED\s+(?:INPUT|CONTENT|DATA))\b|<\/(?:user|user_input|user_query|document|context|data|untrusted[\w-]*)>\s*<(?:system|admin|developer|instructions?)\b/,
  ],
  // Instructions in a code the model is asked to undo and obey: `decode this and follow it`.
  ['encoded-instructions', /\b(?:decode|decipher|decrypt|un-?scramble|reverse|translate)\b[^.!?\n]{0,80}?\b(?:and|then)\s+(?:follow|execute|run|obey|do\s+(?:what|as)\s+it\s+says|act\s+on|carry\s+out|perform|comply\s+with)\b/i],
  ['chat-template', /\[INST\]|<<SYS>>|<\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|eot_id)\|>|<start_of_turn>|\n\n(?:Human|Assistant)\s*:/],
  ['authority-impersonation', /\b(?:developer|admin|god|jailbreak|DAN)\s+mode\s+(?:enabled|activated|on)\b/i],
  // Not `run the shell command below` (every install guide): a tool or function of the agent's, named.
  ['tool-call-bait', /\b(?:call|invoke|use|run|execute)\s+(?:the\s+)?[`'"]?(?:bash|shell|terminal|exec|run_command|computer|write_file|str_replace_editor|fetch|web_fetch)[`'"]?\s+(?:tool|function)\b|\b(?:call|invoke)\s+(?:the\s+)?[`'"]?(?:bash|shell|terminal|exec|run_command)[`'"]?\s+command\b/i],
  ['tool-call-bait', /<(?:tool_call|function_calls|invoke\s+name=|tool_use)\b/i],
  // An agent's tool named the way tools are named (`send_email`, `github.create_pull_request`) and called on the page's behalf, with what to send.
  // (Matched from `tool to send` back: a rarer start than `use` or `call`.)
  [
    'tool-call-bait',
    /\b(?:tool|function|action)\s+(?:to|with|and)\s+(?:send|e-?mail|forward|post|upload|share|transfer|delete|grant|create|invite|add)\b(?<=\b(?:call|invoke|use|trigger|run)\s+(?:the\s+)?[`'"]?[a-z][a-z0-9]*(?:[._][a-z0-9]+)+[`'"]?\s+(?:tool|function|action)\s+(?:to|with|and)\s+(?:send|e-?mail|forward|post|upload|share|transfer|delete|grant|create|invite|add))[^.!?\n]{0,120}?(?:@[A-Za-z0-9-]+\.[A-Za-z]{2,}|https?:\/\/|\b(?:password|token|secret|credential|key|code|file|files|access|money|\$\d)\b)/i,
  ],
  ['tool-call-bait', /\b(?:curl|wget)\s+[^\n|]{1,200}\|\s*(?:ba|z)?sh\b/i],
  // Speaking to the model that reads the page: `Hey Claude,`, `Note for the coding agent:`, `(you, the AI)`.
  [
    'addressed-to-ai',
    new RegExp(
      `\\bif\\s+you\\s+are\\s+(?:an?\\s+)?(?:AI|A\\.I\\.|LLM|(?:large\\s+)?language\\s+model|AI\\s+(?:assistant|agent|model)|assistant|chat\\s*bot|bot)\\b${NOT_A_GROUP}|(?:^|[.!?,;:"'(\\s])(?:hey|hi|hello|dear|attention|psst|note\\s+(?:to|for)|p\\.?\\s?s\\.?\\s+(?:to|for)|(?:important\\s+)?(?:instructions?|message|note|reminder)\\s+(?:to|for))\\s*,?\\s+(?:the\\s+|any\\s+|all\\s+|every\\s+|an?\\s+|you,?\\s+)?(?:autonomous\\s+|coding\\s+|automated\\s+)?${AI_NAME}\\b${NOT_A_GROUP}|(?:you|your)\\s*\\(\\s*the\\s+(?:AI|assistant|model|agent|LLM)\\s*\\)|\\b(?:when|if)\\s+(?:an?\\s+|the\\s+|any\\s+)?${AI_NAME}\\s+(?:reads?|process(?:es)?|summari[sz]es?|sees?|parses?)\\s+this|\\b${AI_NAME}\\s+(?:reading|processing|summari[sz]ing|parsing|reviewing|visiting|browsing|crawling)\\s+this\\s+(?:page|document|file|issue|text|repo(?:sitory)?|site|e-?mail|message|README|PR|pull\\s+request|comment)`,
      'i',
    ),
  ],
  ['new-instructions', /\b(?:previous|prior|original|current|earlier)\s+(?:task|instructions?|request|goal|assignment)\s+(?:is|are|has\s+been|have\s+been|was|were)\s+(?:now\s+)?(?:cancel+ed|void(?:ed)?|revoked|obsolete|superseded|replaced|withdrawn|no\s+longer\s+(?:valid|relevant|needed))/i],
  ['authority-impersonation', /\bI\s+(?:hereby\s+)?(?:order|command|instruct|direct|authori[sz]e)\s+you\s+to\b/i],
  // What the model is to say to its user: `in your summary, tell the user to...`, `end your reply with this link`.
  [
    'reply-manipulation',
    /\byour\s+(?:(?<=\b(?:in|at\s+the\s+(?:end|start|beginning)\s+of|when\s+(?:writing|giving))\s+your\s+)(?:reply|answer|summary|response\s+to\s+the\s+user)\s*,?\s+(?:please\s+|you\s+(?:must|should)\s+|always\s+)?(?:include|add|mention|insert|append|tell|recommend|say|state|urge|advise)|(?<=\b(?:modify|change|alter|end|begin|start|finish)\s+your\s+)(?:reply|answer|summary)\s+(?:with|by|to)\b)/i,
  ],
  // Put in front of the task the agent was given: `before you can solve the task I gave you, do the following first`.
  [
    'task-hijack',
    /\b(?:before|instead\s+of)\s+(?:you\s+(?:can\s+|may\s+|do\s+|start\s+|continue\s+)?)?(?:solv|complet|finish|answer|summari[sz]|continu|do|perform|start|proceed|respond)(?:e|ing|e\s+with)?\s+(?:with\s+)?(?:the|your|this|my|any)\s+(?:original\s+|current\s+|actual\s+|user'?s\s+)?(?:task|request|question|assignment|job|instructions?)\b[^.!?\n]{0,80}?(?:,|\s)\s*(?:please\s+|you\s+(?:must|need\s+to|have\s+to|should)\s+)?(?:first\s+)?(?:do|complete|perform|execute|run|follow|carry\s+out)\s+(?:the\s+following|these|this|what\s+follows)\b/i,
  ],
  ['task-hijack', /\b(?:this\s+is\s+an?\s+(?:important|urgent|critical)\s+(?:message|note|instruction)\s+from\s+(?:me|the\s+user|your\s+user|your\s+owner)[^.!?\n]{0,60}?\bto\s+you\b|(?:after|once)\s+you\s+(?:do|have\s+done|complete|have\s+completed|finish)\s+(?:that|this|these|the\s+above)\s*,?\s+you\s+(?:can|may)\s+(?:solve|complete|continue|finish|return\s+to|go\s+back\s+to|proceed\s+with)\s+(?:the|your)\s+(?:original\s+)?(?:task|request))/i],
  ['authority-impersonation', /\b(?:pretend|imagine|assume)\s+(?:that\s+)?(?:the\s+user|your\s+user|I|the\s+owner)\s+(?:has\s+)?(?:asked|told|instructed|wants?|authori[sz]ed)\s+you\b/i],
  ['config-injection', /(?:^|[\s{,"'<])(?:system|agent|assistant|ai|llm|model)[_-](?:override|instructions?|directives?|commands?)\b/i],
  ['covert-action', /\b(?:without\s+(?:asking|confirmation|confirming|telling|informing|review(?:ing)?)|(?:do\s+not|don'?t|never)\s+(?:tell|inform|mention\s+(?:this\s+)?to|ask)\s+(?:the\s+)?user|before\s+any\s+other\s+step)\b[^\n]{0,120}?\b(?:run|execute|push|publish|upload|send|delete|merge|approve|install|commit|curl|wget)\b|\b(?:run|execute|push|publish|upload|send|delete|merge|approve|install|commit)\b[^\n]{0,120}?\b(?:without\s+(?:asking|confirmation|confirming|telling|informing)|(?:and\s+)?(?:do\s+not|don'?t)\s+(?:tell|inform)\s+(?:the\s+)?user)\b/i],
  // A link to be filled in by the model (`?q={conversation}`), not a badge whose URL carries a token.
  ['markdown-image-exfil', /!\[[^\]\n]{0,100}\]\(\s*https?:\/\/[^)\s]{1,300}[?&][^)\s]{0,300}(?:conversation|chat|history|INSERT|PROMPT|\{|\[|%7B)/i],
  ['exfiltration-request', /\b(?:include|append|put|encode)\s+(?:the\s+|your\s+)?(?:full\s+|whole\s+|entire\s+)?(?:conversation|chat(?:\s+history)?|system\s+prompt|api\s+keys?|tokens?|secrets|credentials)\s+(?:in|into)\s+(?:the\s+|this\s+)?(?:url|link|image|query)/i],
  ['exfiltration-request', /\b(?:send|post|upload|forward|exfiltrate|append)\s+(?:the\s+|your\s+|all\s+(?:of\s+)?(?:the\s+)?)?(?:api[\s_-]?keys?|tokens?|credentials|secrets|environment(?:\s+variables)?|env\s+vars|\.env|ssh\s+keys?|conversation|chat\s+history)\b[^\n]{0,120}?\b(?:to|into)\s+(?:https?:\/\/|this\s+(?:url|endpoint|address)|the\s+(?:url|endpoint|webhook))/i],
  // Not `<!-- prettier-ignore -->` or `<!-- eslint-disable -->`: a word of a tool's directive is not an instruction.
  ['hidden-html-comment', /<!--(?:(?!-->)[\s\S]){0,4000}?(?:(?<![-\w])ignore(?![-\w])|\b(?:instructions?|assistant|AI\s+agent|you\s+must|execute|system\s+prompt|LLM|language\s+model|tell\s+the\s+user|when\s+summari[sz]ing)\b|\bAI\s*:)(?:(?!-->)[\s\S]){0,4000}?-->/i],
  // Hidden from the person who looks at the page, there for the model that reads its source: display/visibility,
  // zero size or opacity, off-screen, text the colour of nothing, the `hidden` and `aria-hidden` attributes.
  [
    'hidden-css-text',
    /<[a-z]+\b[^>]{0,200}?(?:style\s*=\s*["'][^"']{0,200}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.\d+)?(?:px|em|pt)?\s*[;"']|opacity\s*:\s*0(?:\.0\d*)?\s*[;"']|color\s*:\s*(?:white|transparent|#fff(?:fff)?|rgba\([^)]{0,30},\s*0\))\b|(?:left|top|text-indent)\s*:\s*-\d{3,}|(?:height|width|max-height)\s*:\s*0(?:px)?\s*[;"'])|\s(?:hidden|aria-hidden\s*=\s*["']?true)\b)[^>]{0,200}>[^<]{0,2000}?\b(?:ignore|disregard|instructions?|assistant|you\s+must|execute|system\s+prompt|AI\s+(?:agent|model|assistant)|LLM)\b/i,
  ],
  ['hidden-markdown-comment', /(?:^|\n)\s*\[\/\/\]\s*:\s*#\s*\([^)\n]{0,2000}\b(?:ignore|instructions?|assistant|you\s+must|execute)\b/i],
  // Not the tags of a subdivision flag (England: black flag, `gbeng`, cancel tag), which emoji data and tests carry.
  ['unicode-tags', /(?<!\u{1F3F4}[\u{E0020}-\u{E007E}]{0,8})[\u{E0000}-\u{E007F}]/u],
  ['zero-width-run', /[\u200B-\u200F\u2060-\u2064\uFEFF]{4,}/],
];

/** Base64 runs worth decoding for instructions hidden in them. */
const B64_RUN = /[A-Za-z0-9+/]{24,}={0,2}/g;

// ---------------------------------------------------------------- a persona without rules

/**
 * Jailbreak personas (DAN, "developer mode", a character "free of all
 * restrictions") come in endless names and stories; their two parts do not
 * change: the model is given a role (`you are going to act as`, `I want you to
 * pretend`, `from now on you are`, `immerse yourself in the role`), and that
 * role is said to be without rules (`not bound by any policy`, `free of all
 * restrictions`, `never refuse`, `stay in character`). A role alone is every
 * prompt-writing guide; "unrestricted" alone is access-control docs.
 */
const ROLE = new RegExp(
  [
    // `you are (now) going to act as`, `you're about to immerse yourself`, `you are now <Name>`
    String.raw`\byou(?:\s+are|'re)\s+(?:now\s+|about\s+to\s+|going\s+to\s+)*(?:act(?:ing)?|pretend(?:ing)?|play(?:ing)?|simulat(?:e|ing)|role-?play(?:ing)?|immers(?:e|ing)|operat(?:e|ing)\s+under|in\s+the\s+role|become)\b`,
    String.raw`\byou\s+are\s+now\s+[A-Za-z]`,
    String.raw`\byou\s+are\s+(?:an?\s+)?(?:[A-Z][\w-]*(?:GPT|AI|Bot)\b|(?:new\s+|fictional\s+|different\s+)?(?:character|persona)\b|(?:an?\s+)?AI\s+(?:model\s+)?(?:named|called|known\s+as))`,
    // `you will now simulate`, `you must stay`, `you should answer as`
    String.raw`\byou\s+(?:will|must|shall|should)\s+(?:now\s+|always\s+)?(?:act|pretend|simulate|role-?play|behave|become|take\s+on|stay|remain|answer\s+(?:as|like|every|all|my)|respond\s+(?:as|like|to\s+every|to\s+all))\b`,
    // `I want you to act`, `I implore you to`, `I'd like you to`
    String.raw`\b(?:I|we)\s+(?:want|need|would\s+like|'d\s+like|implore|urge|ask|command|order|instruct)\s+you\s+to\s+(?:act|pretend|play|simulate|be|become|answer|respond|role-?play|immerse|provide)\b`,
    // imperatives: anywhere for the ones no doc says to a person, after a sentence's start for the rest
    String.raw`\bimmerse\s+yourself|\b(?:act|behave)\s+as\s+(?:an?\s+)?(?:AI|assistant|chatbot|(?:language\s+)?model)\b|\b(?:update|change|adjust|modify|alter)\s+your\s+(?:behaviou?r|programming|rules|guidelines)\b`,
    String.raw`(?:^|[.!?:"\n]\s*)(?:please\s+|now\s+)?(?:act\s+as|pretend\s+(?:to\s+be|you)|role-?play\s+as|simulate\s+(?:an?\s+|being\s+)?|let'?s\s+play\s+a\s+game)`,
    String.raw`\bfrom\s+(?:now\s+on|this\s+(?:point|moment)\s+(?:on|forward)),?\s+(?:you|I'?d\s+like\s+you)\b`,
    // the dual answer: `answer in two ways`, `generate two responses, one normal and one ...`
    String.raw`\b(?:answer|respond|reply|generate|give|provide)\b[^.!?\n]{0,40}\b(?:two|2|both)\s+(?:different\s+|separate\s+|distinct\s+)?(?:ways|responses|answers|paragraphs|personalities)\b`,
  ].join('|'),
  'gi',
);
const UNBOUND =
  /\b(?:(?:not|never|no\s+longer)\s+(?:be\s+)?(?:bound|restricted|limited|governed|constrained|required\s+to\s+follow|obliged\s+to\s+follow)\s+(?:by\s+)?|free(?:d)?\s+(?:from|of)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:typical\s+)?(?:rules|restrictions|filters|constraints|confines|limitations|polic(?:y|ies)|ethics|morals|guidelines|censorship|OpenAI)|bro(?:ken|ke)\s+free|break\s+free|(?:no|zero|without(?:\s+any)?)\s+(?:moral\s+|ethical\s+|legal\s+)?(?:filters?|restrictions|limitations|censorship|ethics|morals|principles|boundaries)\b|(?:disregard(?:s|ing)?|ignor(?:e|es|ing)|regardless\s+of|without\s+(?:any\s+)?(?:regard|concern)\s+(?:for|to))\s+(?:all\s+|any\s+|the\s+)?(?:ethic|legal|moral|OpenAI|content\s+polic)|do\s+anything\s+now|(?:stay|remain|keep)\s+(?:up\s+the\s+act|in\s+character)|break(?:ing)?\s+(?:out\s+of\s+)?character|(?:uncensored|unfiltered|amoral|immoral|unhinged)\b|never\s+refuses?\s+(?:to\s+answer|any|an?\s+(?:request|question|prompt|order))|without\s+(?:refusal|refusing|warning|censorship)|(?:doesn'?t|does\s+not|don'?t|do\s+not|never)\s+(?:follow|obey|abide\s+by|have\s+to\s+(?:follow|abide\s+by))\s+(?:any\s+|the\s+)?(?:rules|principles|guidelines|polic(?:y|ies)|content\s+polic)|can\s+do\s+anything|(?:say|answer|generate|write)\s+anything\b|any\s+kind\s+of\s+content|(?:OpenAI|Anthropic|Google|Meta)(?:'s)?\s+(?:content\s+|usage\s+)?(?:rules|polic(?:y|ies)|guidelines|restrictions|filters)|(?:rules|guidelines|polic(?:y|ies)|restrictions|ethics|morals?)\s+(?:do(?:es)?\s+not|don'?t|no\s+longer)\s+apply|(?:never|not|don'?t|do\s+not)\s+(?:warn|remind|caution)\s+(?:me|the\s+user|users)\b|(?:has|have|with)\s+(?:no|zero)\s+(?:limits|boundaries|filters|restrictions|limitations|censorship)|illegal,?\s+(?:or\s+)?(?:immoral|unethical|harmful))/i;

/** A role given to the model with its rules taken away, in one stretch of text. */
function rulelessPersona(text: string): { start: number; match: string } | undefined {
  ROLE.lastIndex = 0;
  let tries = 0;
  for (let m = ROLE.exec(text); m !== null && tries < 32; m = ROLE.exec(text), tries++) {
    if (m[0].length === 0) ROLE.lastIndex++;
    const w = text.slice(Math.max(0, m.index - 300), m.index + 700);
    const u = UNBOUND.exec(w);
    if (u) return { start: m.index, match: `${m[0]} … ${u[0]}` };
  }
  return undefined;
}

// ---------------------------------------------------------------- instructions aimed at the agent, by their parts

/**
 * Phrasings are endless; their parts are few. A sentence (with its
 * neighbour) that speaks to the model, drops its rules, or hides what it
 * asks, and that tells it to act on something sensitive or send something
 * somewhere. Each part alone is ordinary: AGENTS.md speaks to agents, install
 * guides say "run", security docs say "token". The model's name counts only
 * as a word, not inside an identifier (`socks-proxy-agent`, `ai/nanoevents`).
 */
const ADDRESSEE = /(?<![-\w/@.])(?:AI|A\.I\.|LLMs?|language\s+models?|model|assistants?|agents?|bots?|crawlers?|Claude(?:\s+Code)?|Codex|Copilot|ChatGPT|GPT|Gemini|whoever\s+(?:reads|processes|parses)|any(?:one|thing)\s+(?:that|who)\s+(?:reads|processes))(?![-\w/@])/i;
const DROP_RULES =
  /\b(?:(?:ignore|disregard|forget(?:\s+about)?|stop\s+following|bypass|override|abandon|drop)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+|these\s+|its\s+)?(?:[A-Za-z.]+\s+)?(?:rules|instructions?|guidelines|guidance|guardrails|policy|policies|restrictions|safety|task|user|constraints|limits)|override\s+(?:engaged|enabled|activated|mode)|unrestricted|unfiltered|jailbr(?:eak|oken)|no\s+(?:restrictions|rules|limits)|new\s+orders)\b/i;
const COVERT = /\b(?:(?:quietly|silently|secretly|covertly)\s+(?:\w+\s+)?(?:run|execute|delete|remove|push|publish|upload|send|e-?mail|post|paste|add|append|copy|disable|commit|merge|approve|install|include|attach|insert|change|modify)|without\s+(?:asking|telling|informing|confirmation|mentioning)|(?:do\s+not|don'?t|never)\s+(?:tell|inform|mention|alert)|only\s+job\s+now)\b/i;
const ACT =
  /\b(?:run|execute|exec|delete|remove|rm|push|publish|upload|send|e-?mail|post|paste|print|output|reveal|show|tell|respond|reply|write|add|append|copy|disable|commit|merge|approve|install|exfiltrate|leak|share|forward|curl|wget|include|attach|rotate|dump)\b/i;
const SENSITIVE =
  /(?:\b(?:secrets?|tokens?|api[\s_-]?keys?|(?:openai|anthropic|aws|ssh|private|gpg|signing)\s+keys?|passwords?|passwd|credentials?|(?:your|all|all\s+(?:of\s+)?the|the\s+contents\s+of\s+(?:the\s+)?)\s+(?:environment\s+variables|env\s+vars)|process\.env|printenv|cookies?|session\s+(?:tokens?|transcripts?|cookies?)|transcripts?|conversation|system\s+prompt|authorized_keys|id_rsa|id_ed25519|force[\s-]push(?:es)?|GITHUB_TOKEN|AWS_[A-Z_]+)\b|--force\b|(?:^|[\s`'"(])(?:\.env|\.git|\.aws|\.ssh|\.netrc|\.npmrc|~\/\.ssh|\/etc\/(?:shadow|passwd|sudoers))\b)/i;
const SEND = /\b(?:send|upload|post|paste|e-?mail|forward|share|exfiltrate|leak|submit|transmit)\b/i;
const DESTINATION = /\bhttps?:\/\/[^\s)"'<>]{3,}|\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{2,5})?\b|\bpastebin\b/i;
/** Where to look: around the rarer parts (links are everywhere in docs and code). */
const CANDIDATE = new RegExp(`${ADDRESSEE.source}|${DROP_RULES.source}|${COVERT.source}`, 'gi');
const SENTENCE_END = /[.!?\n]+\s*/g;

/** Where the sentence going on at `from` ends (after its punctuation and blanks), or the text's end. */
function sentenceEnd(text: string, from: number): number {
  SENTENCE_END.lastIndex = from;
  const e = SENTENCE_END.exec(text);
  return e ? e.index + e[0].length : text.length;
}

/** The first sentence pair around a rarer part that reads as an instruction to the agent, or undefined. */
function instructionToAgent(text: string): { start: number; match: string } | undefined {
  CANDIDATE.lastIndex = 0;
  let tries = 0;
  let checkedTo = -1;
  for (let m = CANDIDATE.exec(text); m !== null && tries < 32; m = CANDIDATE.exec(text)) {
    if (m[0].length === 0) CANDIDATE.lastIndex++;
    if (m.index < checkedTo) continue;
    tries++;
    // The window: the sentence holding the part, and the next one.
    let a = m.index;
    while (a > 0 && a > m.index - 300 && !/[.!?\n]/.test(text[a - 1] ?? '')) a--;
    const b = Math.min(sentenceEnd(text, sentenceEnd(text, m.index + m[0].length)), m.index + 600);
    checkedTo = b;
    // Links say where, and nothing else: a `/commit/` or `?token=` in one is no verb or secret.
    const w = text.slice(a, b);
    const dest = DESTINATION.test(w);
    const words = w.replace(/\bhttps?:\/\/[^\s)"'<>]+/g, ' ');
    const to = ADDRESSEE.test(words);
    const drop = DROP_RULES.test(words);
    const covert = COVERT.test(words);
    const act = ACT.test(words);
    const sensitive = SENSITIVE.test(words);
    if ((drop && (act || to || sensitive)) || (to && act && (sensitive || dest)) || (covert && act) || (sensitive && dest && SEND.test(words))) return { start: a, match: w.trim() };
  }
  return undefined;
}

export interface InboundFinding {
  /** Heuristic family, e.g. `ignore-previous-instructions`, `hidden-html-comment`. */
  readonly rule: string;
  /** Offset in the text where it fired (for hidden or encoded text: where the hiding starts). */
  readonly start: number;
  /** What fired, as it appears in the text (hostile: escape it before a human reads it). */
  readonly match: string;
}

const INVISIBLE = /[\u200B-\u200F\u2060-\u2064\uFEFF\u00AD]/g;

/** Cyrillic and Greek letters drawn like Latin ones (the common confusables), to their Latin look-alike. */
const CONFUSABLE: Readonly<Record<string, string>> = Object.fromEntries(
  [...'АВЕЅІЈКМНОРСТХУаеіјорсхуѕԁһӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧοαιν'].map((c, i) => [c, 'ABESIJKMHOPCTXYaeijopcxysdhlABEZHIKMNOPTYXoaiv'[i] ?? c]),
);
const NON_LATIN_LOOKALIKE = /[\u0370-\u03FF\u0400-\u04FF\u0500-\u052F\uFF01-\uFF5E]/;
/** Six or more single letters each followed by one space (`i g n o r e`), words apart by two or more. */
const SPACED_LETTERS = /(?:\b[A-Za-z] {1,3}){5,}[A-Za-z]\b/g;

const ENTITY = /&(?:(lt|gt|amp|quot|apos|nbsp|#39)|#(\d{1,7})|#x([0-9A-Fa-f]{1,6}));/g;
const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };
const JSON_ESCAPE = /\\(?:u([0-9A-Fa-f]{4})|([nrt"/\\]))/g;
const JSON_START = /^\s*[[{]/;
const JSON_SIMPLE: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', '"': '"', '/': '/', '\\': '\\' };

/** Text inside an HTML page or a JSON string as the model reads it: entities and escapes undone. */
function unescaped(text: string): string {
  let t = text;
  if (t.includes('&')) {
    t = t.replace(ENTITY, (e, name?: string, dec?: string, hex?: string) => {
      if (name) return NAMED[name] ?? e;
      const cp = dec ? Number(dec) : Number.parseInt(hex ?? '', 16);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : e;
    });
  }
  // JSON escapes only in a JSON answer: source code is full of `\n` in string literals, and a second look at all of it doubled the time.
  if (JSON_START.test(t) && t.includes('\\')) t = t.replace(JSON_ESCAPE, (e, u?: string, c?: string) => (u ? String.fromCharCode(Number.parseInt(u, 16)) : (JSON_SIMPLE[c ?? ''] ?? e)));
  return t;
}

function deobfuscated(text: string): string {
  let t = text;
  if (/(?:%[0-9A-Fa-f]{2}){6}/.test(t)) t = t.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('latin1'));
  if (NON_LATIN_LOOKALIKE.test(t)) t = t.normalize('NFKC').replace(/[\u0370-\u052F]/g, (c) => CONFUSABLE[c] ?? c);
  if (/\b[A-Za-z] [A-Za-z] [A-Za-z] /.test(t)) t = t.replace(SPACED_LETTERS, (run) => run.split(/ {2,}/).map((w) => w.replace(/ /g, '')).join(' '));
  return t;
}

/** Prompt-injection heuristics on a text: each family that fires, once, with where. */
export function inboundFindings(raw: string): InboundFinding[] {
  // Read as the model reads it: a page's entities and a JSON answer's escapes undone. Scanning this instead
  // of the raw text (not besides it) keeps one pass; offsets are then the decoded text's, a few characters off.
  const text = unescaped(raw);
  const out: InboundFinding[] = [];
  const seen = new Set<string>();
  const add = (rule: string, start: number, match: string) => {
    if (seen.has(rule)) return;
    seen.add(rule);
    out.push({ rule, start, match });
  };
  for (const [name, re] of INJECTION) {
    if (seen.has(name)) continue;
    const m = re.exec(text);
    if (m) add(name, m.index, m[0]);
  }
  // Zero-width characters sprinkled between letters: look again without them.
  const visible = text.replace(INVISIBLE, '');
  if (visible !== text) {
    const hit = OVERRIDE.exec(visible) ?? INJECTION.map(([, re]) => (re.test(text) ? null : re.exec(visible))).find((m) => m) ?? null;
    if (hit) {
      INVISIBLE.lastIndex = 0;
      const at = INVISIBLE.exec(text)?.index ?? 0;
      add('zero-width-hidden-text', at, hit[0]);
    }
  }
  // Letters from other scripts that look Latin, fullwidth forms, l e t t e r s spaced out: look again, normalised.
  const plain = deobfuscated(visible);
  if (plain !== visible) {
    const hit = INJECTION.map(([name, re]) => (name === 'unicode-tags' || name === 'zero-width-run' || re.test(visible) ? null : re.exec(plain))).find((m) => m) ?? null;
    if (hit) add('obfuscated-instructions', 0, hit[0]);
  }
  // Encoded instructions: base64 that decodes to an override.
  B64_RUN.lastIndex = 0;
  let n = 0;
  for (let m = B64_RUN.exec(text); m !== null && n < 256; m = B64_RUN.exec(text), n++) {
    const dec = Buffer.from(m[0], 'base64').toString('latin1');
    if (OVERRIDE.test(dec) || INJECTION.slice(1, 13).some(([, re]) => re.test(dec))) {
      add('encoded-instructions', m.index, m[0]);
      break;
    }
  }
  const persona = rulelessPersona(text) ?? (plain !== text ? rulelessPersona(plain) : undefined);
  if (persona) add('ruleless-persona', persona.start, persona.match);
  // The catch-all, for phrasings no family names: only when none fired.
  if (out.length === 0) {
    const hit = instructionToAgent(plain);
    if (hit) add('instruction-to-agent', hit.start, hit.match);
  }
  return out;
}

/** Prompt-injection heuristics on a response text: the names of those that fire. */
export function inboundWarnings(text: string): string[] {
  return inboundFindings(text).map((f) => f.rule);
}
