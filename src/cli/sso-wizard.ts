/**
 * The questions of `janua sso setup` on a terminal (Ink, on stderr): one at a time, a text answer typed in
 * place (Enter accepts, an empty answer takes the default) or a choice moved with the arrow keys. Imported
 * only on a terminal; scripts pass every answer as a flag.
 */
import { Box, render, Text, useApp, useInput } from 'ink';
import { createElement as h, type ReactElement, useState } from 'react';

export interface Question {
  key: string;
  label: string;
  help?: string;
  choices?: Array<{ value: string; label: string }>;
  default?: string;
  /** An answer refused here asks again, with the reason. */
  check?: (answer: string) => string | undefined;
}

function Wizard(props: {
  questions: Question[];
  done: (answers: Record<string, string>) => void;
}): ReactElement {
  const { exit } = useApp();
  const [index, setIndex] = useState(0);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [typed, setTyped] = useState('');
  const [cursor, setCursor] = useState(0);
  const [problem, setProblem] = useState<string | undefined>();
  const q = props.questions[index] as Question;

  useInput((input, key) => {
    if (key.escape || (key.ctrl && input === 'c')) {
      exit(new Error('aborted'));
      return;
    }
    if (q.choices) {
      if (key.upArrow) setCursor((c) => (c + q.choices!.length - 1) % q.choices!.length);
      if (key.downArrow) setCursor((c) => (c + 1) % q.choices!.length);
    } else if (key.backspace || key.delete) setTyped((t) => t.slice(0, -1));
    else if (!key.return && input) setTyped((t) => t + input);
    if (!key.return) return;
    const answer = q.choices ? (q.choices[cursor]?.value ?? '') : typed.trim() || (q.default ?? '');
    const why = q.check?.(answer);
    if (why) {
      setProblem(why);
      return;
    }
    const next = { ...answers, [q.key]: answer };
    setProblem(undefined);
    setTyped('');
    setCursor(0);
    if (index + 1 === props.questions.length) {
      props.done(next);
      exit();
    } else {
      setAnswers(next);
      setIndex(index + 1);
    }
  });

  return h(
    Box,
    { flexDirection: 'column' },
    ...props.questions
      .slice(0, index)
      .map((x) =>
        h(
          Text,
          { key: x.key, dimColor: true },
          `✔ ${x.label}: ${x.choices?.find((c) => c.value === answers[x.key])?.label ?? answers[x.key]}`,
        ),
      ),
    h(Text, { bold: true }, `${q.label}${q.default && !q.choices ? ` (${q.default})` : ''}`),
    q.help ? h(Text, { dimColor: true }, q.help) : null,
    q.choices
      ? h(
          Box,
          { flexDirection: 'column' },
          ...q.choices.map((c, i) =>
            h(
              Text,
              { key: c.value, color: i === cursor ? 'cyan' : undefined },
              `${i === cursor ? '❯' : ' '} ${c.label}`,
            ),
          ),
        )
      : h(Text, null, `› ${typed}`),
    problem ? h(Text, { color: 'red' }, problem) : null,
  );
}

/** Asks every question; resolves with the answers (rejects when the admin presses Esc or Ctrl-C). */
export async function ask(
  questions: Question[],
  stream: NodeJS.WriteStream,
): Promise<Record<string, string>> {
  let answers: Record<string, string> | undefined;
  const app = render(h(Wizard, { questions, done: (a) => (answers = a) }), {
    stdout: stream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  await app.waitUntilExit();
  if (!answers) throw new Error('aborted');
  return answers;
}
