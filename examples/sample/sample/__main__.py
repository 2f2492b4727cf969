"""Command line of the sample greeter."""

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(prog="sample", description="Greet someone politely.")
    parser.add_argument("name", help="who to greet")
    parser.add_argument("--shout", action="store_true", help="greet in capitals")
    parser.add_argument("--times", type=int, default=1, help="how many greetings (default: 1)")
    args = parser.parse_args()
    text = f"Hello, {args.name}!"
    for _ in range(args.times):
        print(text.upper() if args.shout else text)


if __name__ == "__main__":
    main()
